/**
 * Yields the `data` of each Server-Sent Event in a byte stream as the events complete (`[DONE]`
 * included; events without a `data:` line are skipped). Events are separated by a blank line.
 *
 * @example for await (const data of readSseData(res.body)) if (data !== "[DONE]") handle(JSON.parse(data));
 */
export async function* readSseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const line = event.split("\n").find((l) => l.startsWith("data:"));
      if (line) yield line.slice(5).trim();
    }
  }
}
