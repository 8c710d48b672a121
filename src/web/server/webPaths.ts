import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The project's root folder (where package.json is): src/web/server and dist/web/server are as deep. */
export const PROJECT_ROOT = fileURLToPath(new URL("../../..", import.meta.url));
/**
 * Whether this is the compiled library (dist/, as `npm run build` leaves it and the npm package
 * ships it) rather than the TypeScript sources: the build serves the web app `npm run build` made
 * and never builds it.
 */
export const RUNNING_FROM_BUILD = import.meta.url.endsWith(".js");
/** The web app's sources. */
export const WEB_APP_DIR = join(PROJECT_ROOT, "src", "web", "app");
/** Where `vite build` writes the web app (kept out of git: built by `npm install`, `npm run build:web` or `npm run build`, never at run time). */
export const WEB_DIST_DIR = join(PROJECT_ROOT, "dist", "web", "app");
/** The vite configuration of the web app. */
export const WEB_VITE_CONFIG = join(PROJECT_ROOT, "src", "web", "vite.config.ts");
