import { request, type IncomingHttpHeaders, type IncomingMessage } from "node:http";

/** An answer of the provider's own HTTP API, read whole. */
export type SelfAnswer = { status: number; headers: IncomingHttpHeaders; body: Buffer };

/**
 * POSTs a JSON body to this provider's own HTTP API, on the address and port `via` (a request it
 * is serving) came in on, under that request's `Host`: the request is served, priced and paid
 * exactly as a client's would be, and any URL it names (an x402 `resource`) is the one the caller
 * sees.
 *
 * @example const answer = await postToSelf(req, "/v1/chat/completions", body, { "PAYMENT-SIGNATURE": header });
 */
export function postToSelf(via: IncomingMessage, path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<SelfAnswer> {
  const { localAddress, localPort } = via.socket;
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: localAddress,
        port: localPort,
        method: "POST",
        path,
        signal,
        headers: {
          host: via.headers.host ?? `${localAddress?.includes(":") ? `[${localAddress}]` : localAddress}:${localPort}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(text),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(text);
  });
}
