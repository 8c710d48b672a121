import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { GotongError } from "../../common/errors.ts";
import { PROJECT_ROOT, RUNNING_FROM_BUILD, WEB_APP_DIR, WEB_DIST_DIR, WEB_VITE_CONFIG } from "./webPaths.ts";

/** Name of the file in the build folder that records which sources it was built from. */
const STAMP = ".source-hash";

/**
 * Every file the browser bundle is built from: the app's folder, every module its code imports by
 * a relative path (src/web/crypto and the few src/common and src/privacy files it shares with
 * Node), the vite config and the lockfile. The imports are followed rather than listed, so a
 * shared module added later still makes a stale build rebuild.
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

/** A hash of the web app's sources: the build is current when its stamp holds the same. */
export function webSourceHash(): string {
  const hash = createHash("sha256");
  for (const file of webSourceFiles()) {
    hash.update(relative(PROJECT_ROOT, file)).update("\0").update(existsSync(file) ? readFileSync(file) : "").update("\0");
  }
  return hash.digest("hex");
}

/** Whether dist/web/app holds a build of the current sources. */
export function isWebBuildCurrent(): boolean {
  const stamp = join(WEB_DIST_DIR, STAMP);
  return existsSync(join(WEB_DIST_DIR, "index.html")) && existsSync(stamp) && readFileSync(stamp, "utf8") === webSourceHash();
}

let building: Promise<void> | undefined;

/**
 * Makes sure dist/web/app holds the web app. From the TypeScript sources (a checkout), it builds
 * the app with vite unless a build of the current sources is there; the build goes to a temporary
 * folder first and replaces dist/web/app in one rename, so a gateway serving the old build never
 * serves half of a new one, and concurrent callers in one process share one build. The compiled
 * library (dist/, the npm package) never builds: it serves the app `npm run build` made beside it.
 *
 * @throws `web_build_failed` when vite is missing (a checkout installed without devDependencies) or
 * fails, or when the compiled library has no built app beside it
 * @example await ensureWebBuild(); // then serve dist/web/app
 */
export function ensureWebBuild(options: { logger?: { info(message: string, fields?: Record<string, unknown>): void } } = {}): Promise<void> {
  if (RUNNING_FROM_BUILD) {
    if (existsSync(join(WEB_DIST_DIR, "index.html"))) return Promise.resolve();
    return Promise.reject(
      new GotongError("The web app is not built", { code: "web_build_failed", status: 503, hint: "Run `npm run build`, which builds the web app into dist/web/app." }),
    );
  }
  if (isWebBuildCurrent()) return Promise.resolve();
  building ??= (async () => {
    const hash = webSourceHash();
    const outDir = `${WEB_DIST_DIR}.tmp-${process.pid}-${Date.now()}`;
    let vite: typeof import("vite");
    try {
      vite = await import("vite");
    } catch (cause) {
      throw new GotongError("The web app is not built and vite is not installed to build it", {
        code: "web_build_failed",
        status: 503,
        hint: "Run `npm install` (with devDependencies) and then `npm run build:web`.",
        cause,
      });
    }
    options.logger?.info("building the web app", { outDir: relative(PROJECT_ROOT, WEB_DIST_DIR) });
    try {
      await vite.build({ configFile: WEB_VITE_CONFIG, logLevel: "warn", build: { outDir, emptyOutDir: true } });
    } catch (cause) {
      rmSync(outDir, { recursive: true, force: true });
      throw new GotongError(`Building the web app failed: ${(cause as Error).message}`, { code: "web_build_failed", status: 503, cause });
    }
    writeFileSync(join(outDir, STAMP), hash);
    const old = `${WEB_DIST_DIR}.old-${process.pid}-${Date.now()}`;
    try {
      if (existsSync(WEB_DIST_DIR)) renameSync(WEB_DIST_DIR, old);
      renameSync(outDir, WEB_DIST_DIR);
    } catch (error) {
      // Another process swapped in its build at the same moment: fine if that one is current.
      rmSync(outDir, { recursive: true, force: true });
      if (!isWebBuildCurrent()) throw error;
    }
    rmSync(old, { recursive: true, force: true });
  })().finally(() => {
    building = undefined;
  });
  return building;
}
