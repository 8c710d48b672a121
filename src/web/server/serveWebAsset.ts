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
 * The content security policy: "no request leaves for another host, and only the project's own
 * built modules run": scripts, styles, fetches, images and fonts from this origin only, no inline
 * script, no eval, no framing, no plugins. The one exception is `chainRpc`, the origin of the chain
 * RPC the person chose for checking the provider's key (see chainRpcOrigin): fetches may go there
 * too, and nowhere else.
 */
export function webContentSecurityPolicy(chainRpc?: string): string {
  const connect = chainRpc ? `'self' ${chainRpc}` : "'self'";
  return (
    `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src ${connect}; manifest-src 'self'; ` +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
  );
}

/** The cookie the page sets to name the chain RPC it checks keys through (an origin, URL-encoded). */
export const CHAIN_RPC_COOKIE = "gotong_chain_rpc";

/**
 * The origin of an http(s) URL, or undefined for anything else: only a bare origin ever goes into
 * the policy, so a cookie cannot add a second source, a wildcard or a directive.
 */
export function chainRpcOrigin(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

/** The chain RPC origin a request's cookie names, if it names a valid one. */
export function chainRpcFromCookie(req: IncomingMessage): string | undefined {
  const cookie = req.headers.cookie ?? "";
  const match = new RegExp(`(?:^|;\\s*)${CHAIN_RPC_COOKIE}=([^;]*)`).exec(cookie);
  if (!match) return undefined;
  try {
    return chainRpcOrigin(decodeURIComponent(match[1]!));
  } catch {
    return undefined;
  }
}

/** Headers every page response carries (the policy allows no chain RPC; the page's own adds the chosen one). */
export const WEB_SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": webContentSecurityPolicy(),
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
 * `options.chainRpc` is the one other origin the page may fetch from (see webContentSecurityPolicy).
 *
 * @returns false when there is no such file (the caller answers 404)
 */
export function serveWebAsset(req: IncomingMessage, res: ServerResponse, pathname: string, options: { chainRpc?: string } = {}): boolean {
  const relativePath = pathname === "/" || pathname === "/index.html" ? "index.html" : decodeURIComponent(pathname.slice(1));
  if (relativePath.includes("\0")) return false;
  const file = normalize(join(WEB_DIST_DIR, relativePath));
  if (!file.startsWith(WEB_DIST_DIR + sep) || relativePath.split("/").some((part) => part.startsWith("."))) return false;
  if (!existsSync(file) || !statSync(file).isFile()) return false;
  const type = TYPES[extname(file)] ?? "application/octet-stream";
  const immutable = relativePath.startsWith("assets/");
  res.writeHead(200, {
    ...WEB_SECURITY_HEADERS,
    "content-security-policy": webContentSecurityPolicy(options.chainRpc),
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
