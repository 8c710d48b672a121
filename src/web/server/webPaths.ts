import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The project's root folder (where package.json is). */
export const PROJECT_ROOT = fileURLToPath(new URL("../../..", import.meta.url));
/** The web app's sources. */
export const WEB_APP_DIR = join(PROJECT_ROOT, "src", "web", "app");
/** Where `vite build` writes the web app (kept out of git: built on demand). */
export const WEB_DIST_DIR = join(PROJECT_ROOT, "dist", "web");
/** The vite configuration of the web app. */
export const WEB_VITE_CONFIG = join(PROJECT_ROOT, "src", "web", "vite.config.ts");
