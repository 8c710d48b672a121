import type { IncomingMessage } from "node:http";
import { GotongError } from "../common/errors.ts";

/**
 * Guards the gateway's spending endpoints against other web sites. The gateway pays from its own
 * account, so a page on another origin must not be able to make a user's browser call it: a
 * request from a browser carries `Origin`, which must be this gateway's own; and the body must be
 * declared JSON (or sealed), which no cross-site form or simple request can do without a CORS
 * preflight that the gateway never grants.
 */
export function refuseCrossSiteSpending(req: IncomingMessage, accepted: readonly string[] = ["application/json"]): void {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let sameHost = false;
    try {
      sameHost = new URL(origin).host === req.headers.host;
    } catch {
      sameHost = false;
    }
    if (!sameHost) {
      throw new GotongError(`Requests from the web origin ${origin} may not spend through this gateway`, {
        code: "cross_origin_refused",
        status: 403,
        hint: "Call the gateway from a program, or from its own web page.",
      });
    }
  }
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (!accepted.includes(type)) {
    throw new GotongError(`Content-Type must be ${accepted.join(" or ")}, not "${type || "none"}"`, {
      code: "unsupported_content_type",
      status: 415,
      hint: "Send the request body as JSON with Content-Type: application/json.",
    });
  }
}
