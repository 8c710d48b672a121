#!/usr/bin/env node
// Builds what the npm package ships, into dist/ (`npm run build`; `npm pack` runs it first):
//   dist/web/app   the web app, bundled by vite (`npm run build:web`), served as is by a gateway the
//                  web app is mounted on (`gotong up`, `gotong gateway start --web`), never built by it
//   dist/**.js     the library and the CLI, compiled by tsc (tsconfig.build.json), with .d.ts types
// dist/ is emptied first, so the package never carries a file of an earlier build. A checkout runs
// the TypeScript sources and needs only the web app of this: `npm install` builds it (the `prepare`
// script runs `npm run build:web`).
import { rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const steps = [
  ["web app (vite)", "npx", ["vite", "build", "--config", "src/web/vite.config.ts"]],
  ["library and CLI (tsc)", "npx", ["tsc", "-p", "tsconfig.build.json"]],
];

rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
for (const [name, command, args] of steps) {
  process.stdout.write(`building the ${name}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    process.stderr.write(`building the ${name} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
}
