import type { IncomingMessage, ServerResponse } from "node:http";

/** How long a browser may reuse a preflight's answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS for a gateway that requires API keys, where browser apps of any origin may call it: the key
 * is the authority then, not the page's origin. Every response allows any origin (no cookies are
 * ever used, so `*` is exact) and exposes its headers (cost, receipt, Retry-After); a preflight
 * (`OPTIONS` with `Access-Control-Request-Method`) is answered 204 with the methods and the
 * headers it asks for (Authorization among them). A keyless gateway never calls this: it refuses
 * foreign origins (refuseCrossSiteSpending).
 *
 * @returns true when `req` was a preflight and has been answered.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse): boolean {
  res.setHeader("access-control-allow-origin", "*");
  res.setHeader("access-control-expose-headers", "*");
  if (req.method !== "OPTIONS" || req.headers["access-control-request-method"] === undefined) return false;
  const asked = req.headers["access-control-request-headers"];
  res.writeHead(204, {
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": typeof asked === "string" && asked.trim() ? asked : "authorization, content-type",
    "access-control-max-age": String(PREFLIGHT_MAX_AGE_SECONDS),
    "content-length": "0",
  });
  res.end();
  return true;
}
