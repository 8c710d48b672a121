import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHAT_PARAMETERS, COMPLETION_PARAMETERS } from "../../src/protocol/parseGenerationRequest.ts";
import { RESPONSES_PARAMETERS } from "../../src/gateway/responses/toChatRequest.ts";
import { EMBEDDING_PARAMETERS } from "../../src/protocol/parseEmbeddingRequest.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";

/**
 * The README's API table is a promise: this test sends a request for every row (the accepted form
 * must be served, the refused form must get the status and error code the row names) and checks
 * that each endpoint's parser accepts exactly the parameters the table lists.
 */

/** A row of the table; `served` is false for rows marked "no". */
type Row = { endpoint: string; parameters: string[]; supported: string; served: boolean; refusal?: { status: number; code: string } };
type Body = Record<string, unknown>;
/** A request for a row: a body merged over the endpoint's base body (undefined removes a key), or a GET path. */
type Probe = { ok?: Body | string; refused?: Body | string };

function readTable(): Row[] {
  const readme = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");
  const section = /<!-- api-surface:start -->([\s\S]*?)<!-- api-surface:end -->/.exec(readme)?.[1];
  if (!section) throw new Error("README.md has no api-surface table");
  const unquote = (cell: string) => cell.replace(/`/g, "").trim();
  return section
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| endpoint") && !line.startsWith("|---"))
    .map((line) => {
      const [endpoint, parameters, supported, refused] = line.split("|").slice(1, -1).map((c) => c.trim());
      const refusal = /(\d{3}) `([a-z_]+)`/.exec(refused ?? "");
      return {
        endpoint: unquote(endpoint!),
        parameters: parameters ? parameters.split(", ").map(unquote) : [],
        supported: supported!,
        served: !/^no\b/.test(supported!),
        refusal: refusal ? { status: Number(refusal[1]), code: refusal[2]! } : undefined,
      };
    });
}

const rows = readTable();
/** The model on offer (the chat network's), set when the network starts. */
let MODEL = "";
const weather = { type: "function", function: { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };
const flatWeather = { type: "function", name: "get_weather", description: "Weather in a city", parameters: weather.function.parameters };

const base = (): Record<string, Body> => ({
  "POST /v1/chat/completions": { model: MODEL, messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 4 },
  "POST /v1/completions": { model: MODEL, prompt: "Once upon a time", max_tokens: 4 },
  "POST /v1/responses": { model: MODEL, input: "Once upon a time", max_output_tokens: 4 },
  "POST /v1/embeddings": { model: MODEL, input: "Once upon a time" },
});

/** Probes shared by chat and completions: the sampling parameters. */
const sampling: Record<string, Probe> = {
  model: { ok: {}, refused: { model: "no-such-model" } },
  max_tokens: { ok: { max_tokens: 3 }, refused: { max_tokens: 0 } },
  temperature: { ok: { temperature: 0.5 }, refused: { temperature: 3 } },
  top_p: { ok: { top_p: 0.9 }, refused: { top_p: 2 } },
  top_k: { ok: { top_k: 20 }, refused: { top_k: -1 } },
  min_p: { ok: { min_p: 0.05 }, refused: { min_p: 2 } },
  repeat_penalty: { ok: { repeat_penalty: 1.1 }, refused: { repeat_penalty: 5 } },
  seed: { ok: { seed: 42 }, refused: { seed: -1 } },
  stop: { ok: { stop: ["\n\n", " Lily"] }, refused: { stop: ["a", "b", "c", "d", "e"] } },
  stream: { ok: { stream: true }, refused: { stream: "yes" } },
  stream_options: { ok: { stream: true, stream_options: { include_usage: true } }, refused: { stream_options: "usage" } },
  n: { ok: { n: 2 }, refused: { n: 9 } },
  user: { ok: { user: "user-1" } },
  presence_penalty: { ok: { presence_penalty: 0.5 }, refused: { presence_penalty: 3 } },
  frequency_penalty: { ok: { frequency_penalty: 0.5 }, refused: { frequency_penalty: 3 } },
  store: { ok: { store: false }, refused: { store: true } },
  metadata: { ok: { metadata: { app: "test" } }, refused: { metadata: "app" } },
  provider: { ok: { provider: { sort: "price" } }, refused: { provider: { sort: "vibes" } } },
};

const PROBES: Record<string, Record<string, Probe>> = {
  "POST /v1/chat/completions": {
    ...sampling,
    messages: {
      ok: { messages: [{ role: "system", content: "Be brief." }, { role: "developer", content: "Tell a story." }, { role: "user", content: [{ type: "text", text: "Once upon a time" }] }] },
      refused: { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://127.0.0.1/cat.png" } }] }] },
    },
    max_completion_tokens: { ok: { max_tokens: undefined, max_completion_tokens: 3 }, refused: { max_completion_tokens: -1 } },
    response_format: { ok: { response_format: { type: "json_object" } }, refused: { response_format: { type: "xml" } } },
    tools: { ok: { tools: [weather] }, refused: { tools: [{ type: "retrieval" }] } },
    tool_choice: { ok: { tools: [weather], tool_choice: { type: "function", function: { name: "get_weather" } }, max_tokens: 40 }, refused: { tools: [weather], tool_choice: "sometimes" } },
    parallel_tool_calls: { ok: { tools: [weather], tool_choice: "none", parallel_tool_calls: false }, refused: { parallel_tool_calls: "no" } },
    logprobs: { ok: { logprobs: true }, refused: { logprobs: "yes" } },
    top_logprobs: { ok: { logprobs: true, top_logprobs: 3 }, refused: { logprobs: true, top_logprobs: 21 } },
  },
  "POST /v1/completions": {
    ...sampling,
    prompt: { ok: { prompt: ["Once upon a time"] }, refused: { prompt: 42 } },
    echo: { ok: { echo: false }, refused: { echo: true } },
    logprobs: { ok: { logprobs: 2 }, refused: { logprobs: 6 } },
  },
  "POST /v1/responses": {
    model: { ok: {}, refused: { model: "no-such-model" } },
    input: { ok: { input: [{ role: "user", content: [{ type: "input_text", text: "Once upon a time" }] }] }, refused: { input: [{ type: "item_reference", id: "msg_1" }] } },
    instructions: { ok: { instructions: "Be brief." }, refused: { instructions: 42 } },
    max_output_tokens: { ok: { max_output_tokens: 3 }, refused: { max_output_tokens: 0 } },
    temperature: { ok: { temperature: 0.5 }, refused: { temperature: 3 } },
    top_p: { ok: { top_p: 0.9 }, refused: { top_p: 2 } },
    stream: { ok: { stream: true }, refused: { stream: "yes" } },
    stream_options: { ok: { stream: true, stream_options: { include_obfuscation: false } }, refused: { stream_options: "none" } },
    metadata: { ok: { metadata: { app: "test" } }, refused: { metadata: "app" } },
    user: { ok: { user: "user-1" } },
    store: { ok: { store: true } },
    tools: { ok: { tools: [flatWeather] }, refused: { tools: [{ type: "web_search" }] } },
    tool_choice: { ok: { tools: [flatWeather], tool_choice: "auto" }, refused: { tools: [flatWeather], tool_choice: "sometimes" } },
    parallel_tool_calls: { ok: { parallel_tool_calls: true }, refused: { parallel_tool_calls: "no" } },
    text: { ok: { text: { format: { type: "json_object" } } }, refused: { text: { format: { type: "xml" } } } },
    provider: { ok: { provider: { sort: "price" } }, refused: { provider: { sort: "vibes" } } },
    "prompt_cache_key, safety_identifier": { ok: { prompt_cache_key: "key-1", safety_identifier: "user-1" }, refused: { prompt_cache_key: 42 } },
    previous_response_id: { refused: { previous_response_id: "resp_1" } },
    conversation: { refused: { conversation: "conv_1" } },
    background: { ok: { background: false }, refused: { background: true } },
    include: { ok: { include: [] }, refused: { include: ["reasoning.encrypted_content"] } },
    reasoning: { ok: { reasoning: {} }, refused: { reasoning: { effort: "high" } } },
    truncation: { ok: { truncation: "disabled" }, refused: { truncation: "auto" } },
    service_tier: { ok: { service_tier: "auto" }, refused: { service_tier: "flex" } },
    top_logprobs: { ok: { top_logprobs: 0 }, refused: { top_logprobs: 3 } },
  },
  "POST /v1/embeddings": {
    model: { ok: {}, refused: { model: "no-such-model" } },
    input: { ok: { input: ["Once upon a time", "The dog ran"] }, refused: { input: [] } },
    encoding_format: { ok: { encoding_format: "base64" }, refused: { encoding_format: "int8" } },
    dimensions: { ok: {}, refused: {} }, // the model's own size and one more, found when the network starts
    user: { ok: { user: "user-1" } },
  },
  "GET /v1/models": { "": { ok: "/v1/models" } },
  "GET /v1/models/{id}": { "": { ok: "/v1/models/MODEL", refused: "/v1/models/no-such-model" } },
  "GET /v1/responses/{id}": { "": { refused: "/v1/responses/resp_0123" } },
};

describe("the README's API table", () => {
  let net: ChatNetwork;
  let baseUrl: string;
  let dimension = 0;

  beforeAll(async () => {
    net = await startChatNetwork();
    // One model, offered for chat by one provider and for embeddings by another.
    MODEL = net.model.name;
    await net.provider(net.model.path, { modelId: net.modelId });
    await net.provider(net.model.path, { modelId: net.modelId, embeddings: true });
    baseUrl = (await net.gateway()).baseUrl.replace(/\/v1$/, "");
    const res = await fetch(`${baseUrl}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(base()["POST /v1/embeddings"]) });
    const first = (await res.json()) as { data?: { embedding: number[] }[] };
    if (!first.data) throw new Error(`embeddings: ${res.status} ${JSON.stringify(first)}`);
    dimension = first.data[0]!.embedding.length;
  }, 240_000);
  afterAll(() => net?.stop());

  /** Sends a probe; the answer's status and error code (read to the end, so a stream that fails late fails here). */
  async function send(endpoint: string, probe: Body | string): Promise<{ status: number; code?: string; text: string }> {
    const [method, route] = endpoint.split(" ") as [string, string];
    const init: RequestInit =
      typeof probe === "string"
        ? { method }
        : { method, headers: { "content-type": "application/json" }, body: JSON.stringify({ ...base()[endpoint], ...probe }) };
    const res = await fetch(`${baseUrl}${typeof probe === "string" ? probe.replace("MODEL", MODEL) : route}`, init);
    const text = await res.text();
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
    } catch {
      // a stream: its events are checked below
    }
    if (res.status === 200 && /^(event: error|data: \{"error")/m.test(text)) return { status: 500, text };
    return { status: res.status, code, text };
  }

  const probeOf = (row: Row): Probe => {
    const probes = PROBES[row.endpoint];
    if (!probes && !row.served) return { refused: {} };
    const probe = probes?.[row.parameters.join(", ")];
    if (probe) return probe;
    // A row of parameters that are not served: each is refused by name.
    if (!row.served && probes) return { refused: Object.fromEntries(row.parameters.map((p) => [p, true])) };
    throw new Error(`No probe for the README row "${row.endpoint} ${row.parameters.join(", ")}": add one to this test`);
  };

  for (const row of rows) {
    it(`${row.endpoint} ${row.parameters.join(", ")}: ${row.supported}${row.refusal ? `, else ${row.refusal.status} ${row.refusal.code}` : ""}`, async () => {
      const probe = probeOf(row);
      if (row.served) {
        expect(probe.ok, "a supported row needs an accepted form").toBeDefined();
        const body = probe.ok === undefined ? {} : probe.ok;
        const answer = await send(row.endpoint, row.parameters[0] === "dimensions" ? { dimensions: dimension } : body);
        expect(answer.status, answer.text.slice(0, 400)).toBe(200);
      }
      if (row.refusal && !PROBES[row.endpoint]) {
        // Endpoints that are not served: each path is refused.
        for (const path of row.endpoint.replace(/^POST /, "").split(", ")) {
          const answer = await send(`POST ${path.replace("*", "speech")}`, {});
          expect([answer.status, answer.code], path).toEqual([row.refusal.status, row.refusal.code]);
        }
        return;
      }
      if (row.refusal) {
        const refused = row.parameters[0] === "dimensions" ? { dimensions: dimension + 1 } : probe.refused;
        expect(refused, "a row with a refusal needs a refused form").toBeDefined();
        const answer = await send(row.endpoint, refused!);
        expect([answer.status, answer.code], answer.text.slice(0, 400)).toEqual([row.refusal.status, row.refusal.code]);
      }
    });
  }

  it("lists exactly the parameters each endpoint's parser accepts", () => {
    const listed = (endpoint: string) => new Set(rows.filter((r) => r.endpoint === endpoint && r.served).flatMap((r) => r.parameters));
    const refused = (endpoint: string) => rows.filter((r) => r.endpoint === endpoint && !r.served).flatMap((r) => r.parameters);
    // `provider` (routing preferences) is read and removed by the gateway before the provider parses the request.
    const cases: [string, ReadonlySet<string>, string[]][] = [
      ["POST /v1/chat/completions", CHAT_PARAMETERS, ["provider"]],
      ["POST /v1/completions", COMPLETION_PARAMETERS, ["provider"]],
      ["POST /v1/responses", RESPONSES_PARAMETERS, []],
      ["POST /v1/embeddings", EMBEDDING_PARAMETERS, []],
    ];
    for (const [endpoint, accepted, gatewayOnly] of cases) {
      const parsed = new Set([...accepted, ...gatewayOnly]);
      // Parameters parsed only to be refused with a reason (previous_response_id…) are rows marked "no".
      const noRows = refused(endpoint).filter((p) => parsed.has(p));
      expect([...listed(endpoint), ...noRows].sort(), endpoint).toEqual([...parsed].sort());
    }
  });
});
