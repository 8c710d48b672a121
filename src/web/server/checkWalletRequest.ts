import type { IncomingMessage } from "node:http";
import { GotongError } from "../../common/errors.ts";
import { HEADERS } from "../../protocol/wire.ts";

import { LOOPBACK_HOST } from "../../gateway/refuseCrossSiteSpending.ts";

/**
 * Refuses a request to the local wallet unless it plainly comes from the web app itself:
 * - the Host is a loopback name (so a DNS-rebinding page on another name cannot reach it),
 * - the Origin, when the browser sends one, is this very host (no other site's page),
 * - it carries `x-gotong-web: 1` and a JSON content type, which a cross-site form or a simple
 *   cross-origin fetch cannot send without a CORS preflight, and the gateway answers no preflight.
 */
export function checkWalletRequest(req: IncomingMessage): void {
  const host = req.headers.host ?? "";
  const origin = req.headers.origin;
  const forbidden = (why: string) => new GotongError(`The local wallet refused the request: ${why}`, { code: "wallet_forbidden", status: 403 });
  if (!LOOPBACK_HOST.test(host)) throw forbidden(`the page is not on a loopback address (${host.slice(0, 80)})`);
  if (origin !== undefined && origin !== `http://${host}`) throw forbidden(`it comes from another site (${origin.slice(0, 80)})`);
  if (req.headers[HEADERS.web] !== "1") throw forbidden(`it lacks the ${HEADERS.web} header`);
  if (!req.headers["content-type"]?.startsWith("application/json")) throw forbidden("it is not JSON");
}
