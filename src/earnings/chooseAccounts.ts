import { getAddress, isAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { GotongError } from "../common/errors.ts";
import { readKey } from "../common/keys.ts";
import { findLocalAccounts, type LocalAccount } from "./findLocalAccounts.ts";

/**
 * The accounts a read-only command (`gotong balance`, `gotong earnings`) looks at: the address
 * given, else the key file given, else every role key this data folder holds. Refuses a malformed
 * address and a data folder with no keys, saying what to pass instead.
 *
 * @example const accounts = chooseAccounts(home.keys, { address: positionals[0], keyFile: values.key });
 */
export function chooseAccounts(keysDir: string, given: { address?: string; keyFile?: string }): LocalAccount[] {
  if (given.address !== undefined) {
    if (!isAddress(given.address, { strict: false })) {
      throw new GotongError(`"${given.address}" is not an address`, { code: "invalid_arguments", hint: "Give a 0x-prefixed 20-byte hex address, or leave it out to see the keys of this data folder." });
    }
    return [{ role: "address", address: getAddress(given.address), keyFile: "" }];
  }
  if (given.keyFile !== undefined) return [{ role: "key", address: privateKeyToAccount(readKey(given.keyFile)).address, keyFile: given.keyFile }];
  const accounts = findLocalAccounts(keysDir);
  if (accounts.length === 0) {
    throw new GotongError(`No keys in ${keysDir}`, {
      code: "no_keys",
      hint: "`gotong up` creates them (gateway, creator, provider); or pass an ADDRESS, --key FILE, or --home DIR for another data folder.",
    });
  }
  return accounts;
}
