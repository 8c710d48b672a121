import { existsSync, readFileSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { type Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { GotongError } from "./errors.ts";

/**
 * Loads the private key of a role (`provider`, `gateway`, `creator`…) from `GOTONG_HOME/keys`,
 * creating it on first use. Written with mode 0600 and renamed into place, so a crash never leaves
 * a half-written key.
 */
export function loadOrCreateKey(keysDir: string, role: string): Hex {
  if (!/^[a-z0-9-]+$/.test(role)) throw new GotongError(`Invalid key role "${role}"`, { code: "invalid_key_role" });
  const path = join(keysDir, `${role}.key`);
  if (existsSync(path)) return readKey(path);
  const key = generatePrivateKey();
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, key + "\n", { mode: 0o600 });
  renameSync(tmp, path);
  return key;
}

/** Reads a hex private key from a file, with a clear error when it is not one. */
export function readKey(path: string): Hex {
  const text = readFileSync(path, "utf8").trim();
  const key = text.startsWith("0x") ? text : `0x${text}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new GotongError(`The key file ${path} does not hold a 32-byte hex private key`, { code: "invalid_key", hint: "Delete it to generate a new key, or write a 0x-prefixed 64-hex-digit key into it." });
  }
  return key as Hex;
}
