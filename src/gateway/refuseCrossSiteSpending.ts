import type { IncomingMessage } from "node:http";
import { GotongError } from "../common/errors.ts";

/** A Host header naming this machine's loopback interface, with an optional port. */
export const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/i;

/** The host name of a Host header, without its port, lower-cased. */
function hostName(host: string): string {
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  return name.toLowerCase();
}

/**
 * Guards the gateway's spending endpoints against other web sites. The gateway pays from its own
 * account, so a page on another origin must not be able to make a user's browser call it: the Host
 * must be a loopback name or one the operator allowed (a DNS-rebinding page reaches 127.0.0.1 under
 * its own name, and its Origin then matches its Host); a request from a browser carries `Origin`,
 * which must be this gateway's own; and the body must be declared JSON (or sealed), which no
 * cross-site form or simple request can do without a CORS preflight that the gateway never grants.
 */
export function refuseCrossSiteSpending(req: IncomingMessage, accepted: readonly string[] = ["application/json"], allowedHosts: readonly string[] = []): void {
  const host = req.headers.host ?? "";
  if (!LOOPBACK_HOST.test(host) && !allowedHosts.some((allowed) => hostName(allowed) === hostName(host))) {
    throw new GotongError(`This gateway does not answer requests addressed to the host "${host.slice(0, 80)}"`, {
      code: "host_refused",
      status: 403,
      hint: "Reach it at 127.0.0.1 or localhost, or start it with --allowed-host NAME for the name clients use.",
    });
  }
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
  refuseUndeclaredBody(req, accepted);
}

/**
 * Refuses a request body not declared as one of the `accepted` content types (415). On a gateway
 * that requires API keys this is all that is left of the guard above: the key is the authority.
 */
export function refuseUndeclaredBody(req: IncomingMessage, accepted: readonly string[] = ["application/json"]): void {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (!accepted.includes(type)) {
    throw new GotongError(`Content-Type must be ${accepted.join(" or ")}, not "${type || "none"}"`, {
      code: "unsupported_content_type",
      status: 415,
      hint: "Send the request body as JSON with Content-Type: application/json.",
    });
  }
}
