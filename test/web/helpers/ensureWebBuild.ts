import { existsSync, renameSync, rmSync } from "node:fs";
import { readWebBuildState } from "../../../src/web/server/webBuildState.ts";
import { WEB_DIST_DIR, WEB_VITE_CONFIG } from "../../../src/web/server/webPaths.ts";

let building: Promise<void> | undefined;

/**
 * Makes sure dist/web/app holds a build of the checkout's web app before a browser test opens it:
 * `npm install` built it (the `prepare` script), but a test run after an edit to the app must test
 * the edit. The build goes to a temporary folder first and replaces dist/web/app in one rename, so
 * test files running in parallel (and a gateway serving the old build) never see half of a build;
 * callers in one process share one build. The gateway itself never builds (webBuildState.ts).
 *
 * @example await ensureWebBuild(); // then open the gateway's page
 */
export function ensureWebBuild(): Promise<void> {
  if (readWebBuildState() === "current") return Promise.resolve();
  building ??= (async () => {
    const vite = await import("vite");
    const outDir = `${WEB_DIST_DIR}.tmp-${process.pid}-${Date.now()}`;
    try {
      // The config's own plugin writes the source stamp into outDir.
      await vite.build({ configFile: WEB_VITE_CONFIG, logLevel: "warn", build: { outDir, emptyOutDir: true } });
    } catch (cause) {
      rmSync(outDir, { recursive: true, force: true });
      throw new Error(`Building the web app for the browser tests failed: ${(cause as Error).message}`, { cause });
    }
    const old = `${WEB_DIST_DIR}.old-${process.pid}-${Date.now()}`;
    try {
      if (existsSync(WEB_DIST_DIR)) renameSync(WEB_DIST_DIR, old);
      renameSync(outDir, WEB_DIST_DIR);
    } catch (error) {
      // Another test process swapped in its build at the same moment: fine if that one is current.
      rmSync(outDir, { recursive: true, force: true });
      if (readWebBuildState() !== "current") throw error;
    }
    rmSync(old, { recursive: true, force: true });
  })().finally(() => {
    building = undefined;
  });
  return building;
}
