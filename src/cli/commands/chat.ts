import { existsSync, readFileSync } from "node:fs";
import { GotongError } from "../../common/errors.ts";
import { readEvents, STREAM_DONE } from "../../protocol/events.ts";
import { context, integer, parse } from "../shared.ts";

export const help = `gotong chat "PROMPT" [--model NAME] [--gateway URL] [--max-tokens 128] [--system TEXT] [--no-stream]

Sends one chat request through the network and prints the answer as it streams, then its cost.
Defaults come from GOTONG_HOME/up.json (written by \`gotong up\`).`;

type ErrorBody = { error?: { message?: string; hint?: string } };

export async function run(args: string[]) {
  const { values, positionals } = parse(args, {
    model: { type: "string" },
    gateway: { type: "string" },
    "max-tokens": { type: "string" },
    system: { type: "string" },
    "no-stream": { type: "boolean" },
  });
  const prompt = positionals.join(" ").trim();
  if (!prompt) throw new GotongError("A prompt is required", { code: "invalid_arguments", hint: help });
  const ctx = context(values);
  const up = existsSync(ctx.home.upFile) ? (JSON.parse(readFileSync(ctx.home.upFile, "utf8")) as { baseUrl: string; model: { name: string } }) : undefined;
  const baseUrl = (values.gateway ? `${values.gateway.replace(/\/+$/, "").replace(/\/v1$/, "")}/v1` : up?.baseUrl);
  if (!baseUrl) throw new GotongError("No gateway to talk to", { code: "gateway_unknown", hint: "Start one with `gotong up`, or pass --gateway URL." });
  const model = values.model ?? up?.model.name;
  if (!model) throw new GotongError("No model named", { code: "invalid_arguments", hint: "Pass --model NAME (see GET /v1/models)." });
  const messages = [...(values.system ? [{ role: "system", content: values.system }] : []), { role: "user", content: prompt }];
  const stream = !values["no-stream"];
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, messages, max_tokens: integer(values["max-tokens"], "max-tokens", 128), stream }),
    });
  } catch (cause) {
    throw new GotongError(`Cannot reach the gateway at ${baseUrl}`, { code: "gateway_unreachable", hint: "Is `gotong up` running?", cause });
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as ErrorBody;
    throw new GotongError(body.error?.message ?? `The gateway answered ${res.status}`, { code: "chat_failed", hint: body.error?.hint });
  }
  let summary: { cost?: string; receiptId?: string; inputTokens?: number; outputTokens?: number } | undefined;
  if (!stream) {
    const body = (await res.json()) as { choices: { message: { content: string } }[]; gotong?: typeof summary };
    process.stdout.write((body.choices[0]?.message.content ?? "") + "\n");
    summary = body.gotong;
  } else {
    for await (const { data } of readEvents(res.body as unknown as AsyncIterable<Uint8Array>)) {
      if (data === STREAM_DONE) continue;
      const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[]; gotong?: typeof summary } & ErrorBody;
      if (chunk.error) throw new GotongError(chunk.error.message ?? "The stream failed", { code: "chat_failed" });
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) process.stdout.write(text);
      if (chunk.gotong?.receiptId) summary = chunk.gotong;
    }
    process.stdout.write("\n");
  }
  if (summary) {
    process.stderr.write(`— ${summary.inputTokens} in / ${summary.outputTokens} out tokens, cost ${summary.cost} base units, receipt ${summary.receiptId?.slice(0, 18)}…\n`);
  }
}
