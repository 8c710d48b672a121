/** POSTs an OpenAI chat request with one user message to `baseUrl` (a gateway's `/v1`). */
export function postChat(baseUrl: string, model: string, content: string, extra: Record<string, unknown> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${baseUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content }], ...extra }),
    signal,
  });
}
