import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";
import { WEB_BUILD_STAMP, webSourceHash } from "./server/webBuildState.ts";

/**
 * The web app's build: plain TypeScript and preact, one small bundle of ES modules, every asset a
 * file of its own (nothing inlined, so the page runs under a strict `script-src 'self'` policy),
 * written to dist/web/app for the gateway to serve. `npm run build:web` runs it (so do `npm install`
 * in a checkout, through the `prepare` script, and `npm run build`); the gateway never builds, it
 * serves what is there (and says when it is missing or older than the sources: webBuildState.ts).
 */
export default defineConfig({
  root: fileURLToPath(new URL("./app", import.meta.url)),
  base: "/",
  publicDir: false,
  logLevel: "warn",
  build: {
    outDir: fileURLToPath(new URL("../../dist/web/app", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
  esbuild: { legalComments: "none" },
  plugins: [stampSources()],
});

/**
 * Records in the build folder which sources it was built from (their hash, taken when the build
 * starts), so a gateway running from a checkout can tell an out-of-date build and say so.
 */
function stampSources(): Plugin {
  let outDir = "";
  let hash = "";
  return {
    name: "gotong-stamp-sources",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    buildStart() {
      hash = webSourceHash();
    },
    closeBundle() {
      writeFileSync(join(outDir, WEB_BUILD_STAMP), hash);
    },
  };
}
