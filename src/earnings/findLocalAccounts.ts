import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readKey } from "../common/keys.ts";

/** A key this data folder holds, by the role it plays. */
export type LocalAccount = { role: string; address: Address; keyFile: string };

/** The roles whose keys `gotong up` and the role commands keep in GOTONG_HOME/keys, in the order they are shown. */
export const LOCAL_ROLES = ["gateway", "creator", "provider"] as const;

/**
 * The accounts of the keys this data folder already holds (`gateway.key`, the account `gotong up`
 * calls yours; `creator.key`; `provider.key`). Reads only: a command that looks at balances must
 * not invent keys.
 *
 * @example const accounts = findLocalAccounts(home.keys); // [{ role: "gateway", address: "0x…", keyFile }]
 */
export function findLocalAccounts(keysDir: string): LocalAccount[] {
  return LOCAL_ROLES.flatMap((role) => {
    const keyFile = join(keysDir, `${role}.key`);
    return existsSync(keyFile) ? [{ role, address: privateKeyToAccount(readKey(keyFile)).address, keyFile }] : [];
  });
}

/** How a role's key is named in output: the gateway's is the one `gotong up` calls yours. */
export function describeRole(role: string): string {
  return role === "gateway" ? "gateway (your account)" : role;
}
