import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { existsSync } from "node:fs";
import { GotongError } from "../common/errors.ts";

const platformPackages: Record<string, string> = {
  "linux-x64": "@foundry-rs/anvil-linux-amd64",
  "linux-arm64": "@foundry-rs/anvil-linux-arm64",
  "darwin-x64": "@foundry-rs/anvil-darwin-amd64",
  "darwin-arm64": "@foundry-rs/anvil-darwin-arm64",
  "win32-x64": "@foundry-rs/anvil-win32-amd64",
};

/**
 * Finds the Anvil binary shipped in the npm platform package. We start it directly, not through the
 * npm wrapper (which runs it under `sh` and `node`), so that SIGINT reaches Anvil itself and it
 * writes its state file on the way out.
 */
export function findAnvil(): string {
  if (process.env.GOTONG_ANVIL_BIN) return process.env.GOTONG_ANVIL_BIN;
  const pkg = platformPackages[`${process.platform}-${process.arch}`];
  if (!pkg) throw new GotongError(`No Anvil build for ${process.platform}-${process.arch}`, { code: "anvil_missing", hint: "Install Foundry's anvil and set GOTONG_ANVIL_BIN to its path." });
  try {
    const require = createRequire(import.meta.url);
    const bin = join(dirname(require.resolve(`${pkg}/package.json`)), "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
    if (existsSync(bin)) return bin;
  } catch {
    // fall through to the error below
  }
  throw new GotongError(`Anvil is not installed (${pkg} not found)`, { code: "anvil_missing", hint: "Run `npm ci` in the project, or set GOTONG_ANVIL_BIN." });
}
