import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { PROJECT_ROOT, RUNNING_FROM_BUILD, WEB_APP_DIR, WEB_DIST_DIR, WEB_VITE_CONFIG } from "./webPaths.ts";

/** Name of the file in the build folder that records which sources it was built from (written by the vite config). */
export const WEB_BUILD_STAMP = ".source-hash";

/**
 * Every file the browser bundle is built from: the app's folder, every module its code imports by
 * a relative path (src/web/crypto and the few src/common and src/privacy files it shares with
 * Node), the vite config and the lockfile. The imports are followed rather than listed, so a
 * shared module added later still makes a stale build show as stale.
 */
export function webSourceFiles(): string[] {
  const files = new Set<string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!name.endsWith(".test.ts")) files.add(path);
    }
  };
  walk(WEB_APP_DIR);
  const pending = [...files].filter((file) => file.endsWith(".ts"));
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    for (const [, specifier] of readFileSync(file, "utf8").matchAll(RELATIVE_IMPORT)) {
      const imported = resolve(dirname(file), specifier!);
      if (files.has(imported) || !existsSync(imported)) continue;
      files.add(imported);
      pending.push(imported);
    }
  }
  return [...[...files].sort(), WEB_VITE_CONFIG, join(PROJECT_ROOT, "package-lock.json")];
}

// `from "./x.ts"`, `import "./x.ts"` and `import("./x.ts")`: the only ways the app's code imports.
const RELATIVE_IMPORT = /(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g;

/** A hash of the web app's sources: a build is current when its stamp holds the same. */
export function webSourceHash(): string {
  const hash = createHash("sha256");
  for (const file of webSourceFiles()) {
    hash.update(relative(PROJECT_ROOT, file)).update("\0").update(existsSync(file) ? readFileSync(file) : "").update("\0");
  }
  return hash.digest("hex");
}

/** What a web app build folder holds; see {@link readWebBuildState}. */
export type WebBuildState = "missing" | "stale" | "current";

/**
 * What a build folder (default dist/web/app) holds: `missing` (never built), `stale` (built from
 * other sources than the checkout's: an edit since the last `npm run build:web`) or `current`. The
 * compiled library (the npm package) ships no sources, so its build is `current` whenever it is there.
 *
 * @example if (readWebBuildState() === "missing") logger.warn("run `npm run build:web`")
 */
export function readWebBuildState(dir: string = WEB_DIST_DIR): WebBuildState {
  if (!existsSync(join(dir, "index.html"))) return "missing";
  if (RUNNING_FROM_BUILD) return "current";
  const stamp = join(dir, WEB_BUILD_STAMP);
  return existsSync(stamp) && readFileSync(stamp, "utf8") === webSourceHash() ? "current" : "stale";
}
