import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The web app's build: plain TypeScript and preact, one small bundle of ES modules, every asset a
 * file of its own (nothing inlined, so the page runs under a strict `script-src 'self'` policy),
 * written to dist/web/app for the gateway to serve. `npm run build:web` (part of `npm run build`)
 * runs it; from the sources, the gateway and the tests also build on demand when the sources
 * changed (src/web/server/ensureWebBuild.ts).
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
});
