/** Routes that spend: each request is counted against its key's requests per minute. */
const SPENDING = new Set(["/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings"]);

/**
 * Whether a request to `path` needs an API key on a gateway started with `--keys`, and whether it
 * spends. Every `/v1/` route needs one (as OpenAI's do, `/v1/models` too), and so do the web app's
 * sealed relay (`/gotong/relay/…`) and the receipts (`/gotong/receipts` then lists the caller's
 * own). Open: `/health`, `/gotong/offers` (what the chain says anyway) and the web app's pages.
 *
 * @returns undefined for an open route.
 */
export function keyUseOf(method: string | undefined, path: string): { spends: boolean } | undefined {
  if (path.startsWith("/v1/") || path === "/v1") return { spends: method === "POST" && SPENDING.has(path) };
  if (path === "/gotong/relay/prepare" || path === "/gotong/receipts") return { spends: false };
  if (path.startsWith("/gotong/relay/")) return { spends: method === "POST" };
  return undefined;
}
