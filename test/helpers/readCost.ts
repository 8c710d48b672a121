/** What a gateway told its client a request cost, and what came back with it. */
export type ToldCost = {
  /** The cost in base units (`x-gotong-cost`, or the final SSE event's `gotong.cost`); undefined when never told. */
  cost: bigint | undefined;
  outputTokens: number;
  /** The error a stream ended with after its 200 went out, if any. */
  streamError: string | undefined;
};

/**
 * Reads a gateway's 200 answer to a chat or completion request to its end and returns the cost it
 * reported: from the `x-gotong-cost` header for a JSON answer, from the final event's `gotong.cost`
 * for a stream (its chunks before that carry only `gotong.outputTokens`).
 */
export async function readCost(res: Response): Promise<ToldCost> {
  if (!(res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    const body = (await res.json()) as { usage?: { completion_tokens?: number } };
    const header = res.headers.get("x-gotong-cost");
    return { cost: header === null ? undefined : BigInt(header), outputTokens: body.usage?.completion_tokens ?? 0, streamError: undefined };
  }
  const text = await res.text();
  let cost: bigint | undefined;
  let outputTokens = 0;
  let streamError: string | undefined;
  for (const event of text.split("\n\n")) {
    const data = event.split("\n").find((line) => line.startsWith("data: "))?.slice(6);
    if (!data || data === "[DONE]") continue;
    const chunk = JSON.parse(data) as { gotong?: { cost?: string; outputTokens?: number }; usage?: { completion_tokens?: number }; error?: { code?: string; message?: string } };
    if (chunk.error) streamError = chunk.error.code ?? chunk.error.message ?? "error";
    if (chunk.usage?.completion_tokens !== undefined) outputTokens = chunk.usage.completion_tokens;
    if (typeof chunk.gotong?.cost === "string" && chunk.gotong.outputTokens !== undefined) outputTokens = chunk.gotong.outputTokens;
    if (typeof chunk.gotong?.cost === "string") cost = BigInt(chunk.gotong.cost);
  }
  return { cost, outputTokens, streamError };
}
