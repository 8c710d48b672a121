import { createReadStream, existsSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { WEB_DIST_DIR } from "./webPaths.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".woff2": "font/woff2",
};

/**
 * Headers every page response carries. The content security policy is the rule "no request leaves
 * for another host, and only the project's own built modules run": scripts, styles, fetches, images
 * and fonts from this origin only, no inline script, no eval, no framing, no plugins.
 */
export const WEB_SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; manifest-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
  "x-frame-options": "DENY",
};

/**
 * Serves one file of the built web app (dist/web/app), or index.html for `/`. Only files inside the
 * build folder, only GET and HEAD; hashed assets are cached for a year, index.html never.
 *
 * @returns false when there is no such file (the caller answers 404)
 */
export function serveWebAsset(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
  const relativePath = pathname === "/" || pathname === "/index.html" ? "index.html" : decodeURIComponent(pathname.slice(1));
  if (relativePath.includes("\0")) return false;
  const file = normalize(join(WEB_DIST_DIR, relativePath));
  if (!file.startsWith(WEB_DIST_DIR + sep) || relativePath.split("/").some((part) => part.startsWith("."))) return false;
  if (!existsSync(file) || !statSync(file).isFile()) return false;
  const type = TYPES[extname(file)] ?? "application/octet-stream";
  const immutable = relativePath.startsWith("assets/");
  res.writeHead(200, {
    ...WEB_SECURITY_HEADERS,
    "content-type": type,
    "content-length": statSync(file).size,
    "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
  });
  if (req.method === "HEAD") {
    res.end();
    return true;
  }
  createReadStream(file).pipe(res);
  return true;
}
