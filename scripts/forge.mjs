#!/usr/bin/env node
// Runs Forge on Gotong's contracts offline: `node scripts/forge.mjs test [forge args...]`.
//
// Forge cannot download a native solc here, so it is pointed (`--use`) at scripts/solc-wrapper.mjs,
// which compiles with the `solc` npm package. The Forge binary comes from the platform package
// that @foundry-rs/forge installs (e.g. @foundry-rs/forge-linux-amd64). The working directory is
// contracts/, where foundry.toml lives. Exits with Forge's exit code.

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const contractsDir = path.join(root, "contracts");
const wrapper = path.join(root, "scripts", "solc-wrapper.mjs");

/** The Forge executable from the platform-specific npm package. */
function forgeBinary() {
  const arch = { x64: "amd64", arm64: "arm64" }[process.arch];
  const platform = { linux: "linux", darwin: "darwin", win32: "win32" }[process.platform];
  if (!arch || !platform) throw new Error(`Forge has no npm build for ${process.platform}-${process.arch}`);
  const pkg = `@foundry-rs/forge-${platform}-${arch}`;
  let pkgJson;
  try {
    pkgJson = require.resolve(`${pkg}/package.json`);
  } catch (cause) {
    throw new Error(`${pkg} is not installed; run npm install (it is an optional dependency of @foundry-rs/forge)`, {
      cause,
    });
  }
  const binary = path.join(path.dirname(pkgJson), "bin", platform === "win32" ? "forge.exe" : "forge");
  if (!fs.existsSync(binary)) throw new Error(`Forge binary missing at ${binary}`);
  return binary;
}

/** The compiler Forge runs: the wrapper itself where shebangs work, a .cmd shim on Windows. */
function compilerPath() {
  if (process.platform === "win32") return path.join(root, "scripts", "solc-wrapper.cmd");
  try {
    fs.accessSync(wrapper, fs.constants.X_OK);
  } catch {
    fs.chmodSync(wrapper, 0o755); // the executable bit can be lost by archives and some checkouts
  }
  return wrapper;
}

const args = process.argv.slice(2);
if (args.length === 0) args.push("test");

// Subcommands that compile take --use/--offline; others (e.g. `forge fmt`, `forge clean`) do not.
const compiling = new Set(["build", "b", "compile", "test", "t", "snapshot", "s", "coverage", "inspect", "script"]);
const forgeArgs = compiling.has(args[0])
  ? [args[0], "--offline", "--use", compilerPath(), ...args.slice(1)]
  : args;

let binary;
try {
  binary = forgeBinary();
} catch (error) {
  console.error(`forge.mjs: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const child = spawn(binary, forgeArgs, { cwd: contractsDir, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("error", (error) => {
  console.error(`forge.mjs: could not start ${binary}: ${error.message}`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
