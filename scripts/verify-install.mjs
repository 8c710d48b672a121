#!/usr/bin/env node
// Proves that `npm install` installed exactly what the committed lockfile pins, without diffing the
// lockfile's bytes. The registry mirror lists a changing set of other platforms' optional binaries
// (Anvil, Forge, Rollup, llama.cpp for darwin, win32, arm64...), and npm rewrites the lockfile to
// match whatever it lists today; that rewrite says nothing about what this machine installed.
// What matters is the installed tree, which npm records in node_modules/.package-lock.json:
//   - every installed package must be pinned by the committed lockfile at the same version and
//     integrity (nothing was resolved afresh), and
//   - every package the committed lockfile pins that is not optional must be installed.
// Usage: node scripts/verify-install.mjs COMMITTED_LOCKFILE
import { readFileSync } from "node:fs";

const [committedPath] = process.argv.slice(2);
if (!committedPath) {
  process.stderr.write("usage: node scripts/verify-install.mjs COMMITTED_LOCKFILE\n");
  process.exit(2);
}
const committed = JSON.parse(readFileSync(committedPath, "utf8")).packages ?? {};
let installed;
try {
  installed = JSON.parse(readFileSync("node_modules/.package-lock.json", "utf8")).packages ?? {};
} catch (error) {
  process.stderr.write(`cannot read node_modules/.package-lock.json (${error.message}): run npm install first\n`);
  process.exit(1);
}

const problems = [];
for (const [path, got] of Object.entries(installed)) {
  if (path === "" || got.link) continue;
  const pinned = committed[path];
  if (!pinned) problems.push(`${path}@${got.version} is installed but not in the committed lockfile`);
  else if (pinned.version !== got.version) problems.push(`${path} installed ${got.version}, lockfile pins ${pinned.version}`);
  else if (pinned.integrity && got.integrity && pinned.integrity !== got.integrity) problems.push(`${path}@${got.version} integrity differs from the lockfile`);
}
for (const [path, pinned] of Object.entries(committed)) {
  if (path === "" || pinned.link || pinned.optional || pinned.devOptional || pinned.peer) continue;
  if (!installed[path]) problems.push(`${path}@${pinned.version} is in the lockfile but was not installed`);
}

if (problems.length > 0) {
  process.stderr.write(`the installed packages differ from package-lock.json (${problems.length}):\n`);
  for (const problem of problems.slice(0, 40)) process.stderr.write(`  ${problem}\n`);
  process.stderr.write("run npm install, check the change, and commit the updated package-lock.json\n");
  process.exit(1);
}
process.stdout.write(`installed packages match package-lock.json (${Object.keys(installed).length - 1} packages)\n`);
