#!/usr/bin/env node
// Every test, in order of cost: types, contracts (Foundry: unit, fuzz, invariant), then the
// TypeScript suites (unit and end-to-end, against a real Anvil and, when present, real models).
import { spawnSync } from "node:child_process";

const steps = [
  ["typecheck", "npx", ["tsc", "--noEmit", "-p", "."]],
  // The browser app has its own config: DOM types, no Node types. Its browser tests run in vitest.
  ["typecheck (web app)", "npx", ["tsc", "--noEmit", "-p", "src/web"]],
  ["contract artifacts are current", "node", ["scripts/compile-contracts.mjs", "--check"]],
  ["contracts (forge)", "node", ["scripts/forge.mjs", "test"]],
  ["typescript (vitest)", "npx", ["vitest", "run", ...process.argv.slice(2)]],
];

for (const [name, command, args] of steps) {
  process.stdout.write(`\n=== ${name} ===\n`);
  const result = spawnSync(command, args, { stdio: "inherit" });
  if (result.status !== 0) {
    process.stderr.write(`\n${name} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
}
process.stdout.write("\nall tests passed\n");
