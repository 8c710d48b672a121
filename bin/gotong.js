#!/usr/bin/env node
// In a checkout, runs the TypeScript sources through tsx: no build step between an edit and a
// working command, and never a stale dist/ left by an earlier `npm run build`. The npm package
// ships no sources and no tsx: it runs the JavaScript `npm run build` compiled into dist/.
import { existsSync } from "node:fs";

const source = new URL("../src/cli/main.ts", import.meta.url);
const built = new URL("../dist/cli/main.js", import.meta.url);

/** tsx's loader, or undefined when it is not installed (an install without devDependencies). */
async function tsxLoader() {
  try {
    return await import("tsx/esm/api");
  } catch (error) {
    if (error?.code === "ERR_MODULE_NOT_FOUND") return undefined;
    throw error;
  }
}

const tsx = existsSync(source) ? await tsxLoader() : undefined;
if (tsx) {
  tsx.register();
  await import(source.href);
} else if (existsSync(built)) {
  await import(built.href);
} else {
  process.stderr.write("gotong: dist/cli/main.js is missing and tsx is not installed to run the sources\n  hint: run `npm install` (for the sources) or `npm run build`\n");
  process.exit(1);
}
