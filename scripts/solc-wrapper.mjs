#!/usr/bin/env node
// A `solc` command-line stand-in backed by the `solc` npm package (solcjs), so Forge can compile
// offline: Forge cannot download a native compiler here, and `forge --use <this file>` accepts any
// executable that answers `--version` and `--standard-json` like solc does.
//
// Only the two modes Forge uses are supported:
//   solc-wrapper.mjs --version
//   solc-wrapper.mjs --standard-json [--base-path DIR] [--include-path DIR]... [--allow-paths ...]
// The standard-JSON input is read from stdin (or from a file given as the last argument) and the
// output JSON is written to stdout. `--allow-paths` is accepted and ignored: the import callback
// below only reads files that exist under the base path, the include paths, or by absolute path.

import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

const args = process.argv.slice(2);

/** Writes all of `text` to fd 1, retrying on a full non-blocking pipe, so nothing is cut short. */
function writeStdout(text) {
  const buffer = Buffer.from(text, "utf8");
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(1, buffer, offset, buffer.length - offset);
    } catch (error) {
      if (error && error.code === "EAGAIN") {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      throw error;
    }
  }
}

function fail(message) {
  process.stderr.write(`solc-wrapper: ${message}\n`);
  process.exitCode = 1;
}

/** Loads solcjs with stdout diverted, because emscripten prints diagnostics (">>> ...") there. */
function loadSolc() {
  const originalWrite = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, ...rest) => process.stderr.write(chunk, ...rest);
  try {
    return { solc: require("solc"), restore: () => (process.stdout.write = originalWrite) };
  } catch (error) {
    process.stdout.write = originalWrite;
    throw error;
  }
}

function main() {
  if (args.includes("--version") || args.includes("-v")) {
    const { solc, restore } = loadSolc();
    restore();
    // Forge parses the last non-empty line, stripping "Version: ".
    writeStdout(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }

  if (!args.includes("--standard-json")) {
    fail(`only --version and --standard-json are supported (got: ${args.join(" ") || "no arguments"})`);
    return;
  }

  let basePath = process.cwd();
  const includePaths = [];
  let inputFile;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--standard-json") continue;
    if (arg === "--base-path") basePath = path.resolve(args[++i]);
    else if (arg.startsWith("--base-path=")) basePath = path.resolve(arg.slice("--base-path=".length));
    else if (arg === "--include-path") includePaths.push(path.resolve(args[++i]));
    else if (arg.startsWith("--include-path=")) includePaths.push(path.resolve(arg.slice("--include-path=".length)));
    else if (arg === "--allow-paths") i++;
    else if (arg.startsWith("--allow-paths=")) continue;
    else if (arg.startsWith("-")) continue; // other flags (e.g. --pretty-json) do not change the result
    else inputFile = arg;
  }

  const input = fs.readFileSync(inputFile ?? 0, "utf8");
  const roots = [basePath, ...includePaths];

  /** solcjs import callback: resolves a source unit name to file contents. */
  function findImports(unitName) {
    const candidates = path.isAbsolute(unitName)
      ? [unitName, ...roots.map((root) => path.join(root, unitName))]
      : roots.map((root) => path.resolve(root, unitName));
    for (const candidate of candidates) {
      try {
        if (fs.statSync(candidate).isFile()) return { contents: fs.readFileSync(candidate, "utf8") };
      } catch {
        // not here; try the next root
      }
    }
    return { error: `File not found: ${unitName} (searched ${candidates.join(", ")})` };
  }

  const { solc, restore } = loadSolc();
  let output;
  try {
    output = solc.compile(input, { import: findImports });
  } finally {
    restore();
  }
  // Keep only the JSON: drop any diagnostic line solcjs may have mixed into its result.
  const json = output
    .split("\n")
    .filter((line) => !line.startsWith(">>>"))
    .join("\n");
  writeStdout(json.endsWith("\n") ? json : `${json}\n`);
}

try {
  main();
} catch (error) {
  fail(error instanceof Error ? error.stack ?? error.message : String(error));
}
