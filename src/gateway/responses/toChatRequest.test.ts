import { describe, expect, it } from "vitest";
import { GotongError } from "../../common/errors.ts";
import { toChatRequest } from "./toChatRequest.ts";

/** The GotongError a translation throws (fails the test when it throws nothing). */
function refusal(request: Record<string, unknown>): GotongError {
  try {
    toChatRequest(request);
  } catch (error) {
    expect(error).toBeInstanceOf(GotongError);
    return error as GotongError;
  }
  throw new Error(`expected ${JSON.stringify(request)} to be refused`);
}

describe("toChatRequest", () => {
  it("turns instructions and a string input into a system and a user message", () => {
    expect(toChatRequest({ model: "m", instructions: "Be brief.", input: "Hi" })).toEqual({
      model: "m",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ],
    });
  });

  it("turns message items of every role, with string or text-part content, into chat messages", () => {
    const chat = toChatRequest({
      model: "m",
      input: [
        { role: "developer", content: "Rules." },
        { type: "message", role: "system", content: [{ type: "input_text", text: "More " }, { type: "input_text", text: "rules." }] },
        { role: "user", content: [{ type: "input_text", text: "Hello" }] },
        { type: "message", role: "assistant", id: "msg_1", status: "completed", content: [{ type: "output_text", text: "Hi there", annotations: [] }] },
        { role: "user", content: "Again" },
      ],
    });
    expect(chat.messages).toEqual([
      { role: "system", content: "Rules." },
      { role: "system", content: "More rules." },
      { role: "user", content: "Hello" },
      { role: "assistant", content: "Hi there" },
      { role: "user", content: "Again" },
    ]);
  });

  it("turns function_call and function_call_output items into assistant tool_calls and tool messages", () => {
    const chat = toChatRequest({
      model: "m",
      input: [
        { role: "user", content: "Weather in Paris and Lima?" },
        { type: "function_call", id: "fc_1", call_id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}', status: "completed" },
        { type: "function_call", call_id: "call_b", name: "get_weather", arguments: '{"city":"Lima"}' },
        { type: "function_call_output", call_id: "call_a", output: "Sunny" },
        { type: "function_call_output", call_id: "call_b", output: [{ type: "input_text", text: "Rain" }] },
      ],
    });
    expect(chat.messages).toEqual([
      { role: "user", content: "Weather in Paris and Lima?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { id: "call_b", type: "function", function: { name: "get_weather", arguments: '{"city":"Lima"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_a", content: "Sunny" },
      { role: "tool", tool_call_id: "call_b", content: "Rain" },
    ]);
  });

  it("joins an assistant's text and the calls that follow it into one message", () => {
    const chat = toChatRequest({
      model: "m",
      input: [
        { role: "user", content: "Go" },
        { role: "assistant", content: "Let me check." },
        { type: "function_call", call_id: "call_a", name: "f", arguments: "{}" },
      ],
    });
    expect(chat.messages[1]).toEqual({ role: "assistant", content: "Let me check.", tool_calls: [{ id: "call_a", type: "function", function: { name: "f", arguments: "{}" } }] });
  });

  it("turns flat function tools and every tool_choice form into chat's", () => {
    const tools = [
      { type: "function", name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } }, strict: true },
      { type: "function", name: "get_time", parameters: null, strict: null },
    ];
    const chat = toChatRequest({ model: "m", input: "Hi", tools, tool_choice: { type: "function", name: "get_weather" }, parallel_tool_calls: false });
    expect(chat.tools).toEqual([
      { type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } }, strict: true } },
      { type: "function", function: { name: "get_time" } },
    ]);
    expect(chat.tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
    expect(chat.parallel_tool_calls).toBe(false);
    for (const choice of ["none", "auto", "required"]) expect(toChatRequest({ model: "m", input: "Hi", tools, tool_choice: choice }).tool_choice).toBe(choice);
    // allowed_tools: the model sees only the allowed functions, with the mode as the choice.
    const allowed = toChatRequest({ model: "m", input: "Hi", tools, tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "get_time" }] } });
    expect(allowed.tools).toEqual([{ type: "function", function: { name: "get_time" } }]);
    expect(allowed.tool_choice).toBe("required");
    expect(toChatRequest({ model: "m", input: "Hi", tools: [] }).tools).toBeUndefined();
  });

  it("turns text.format into response_format, and the plain options into chat's", () => {
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false };
    expect(toChatRequest({ model: "m", input: "Hi", text: { format: { type: "json_schema", name: "thing", schema, strict: true } } }).response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "thing", schema, strict: true },
    });
    expect(toChatRequest({ model: "m", input: "Hi", text: { format: { type: "json_object" } } }).response_format).toEqual({ type: "json_object" });
    expect(toChatRequest({ model: "m", input: "Hi", text: { format: { type: "text" }, verbosity: null } }).response_format).toBeUndefined();
    const chat = toChatRequest({ model: "m", input: "Hi", max_output_tokens: 40, temperature: 0, top_p: 0.5, stream: true, store: true, metadata: { a: "b" }, user: "u1", include: [], truncation: "disabled", reasoning: null, service_tier: "auto", stream_options: { include_obfuscation: false } });
    expect(chat).toEqual({ model: "m", messages: [{ role: "user", content: "Hi" }], max_tokens: 40, temperature: 0, top_p: 0.5, stream: true });
    // OpenRouter's routing preferences stay for the gateway to read, as on chat completions.
    expect(toChatRequest({ model: "m", input: "Hi", provider: { sort: "price" } }).provider).toEqual({ sort: "price" });
  });

  it("refuses previous_response_id, conversation and item references: nothing is stored", () => {
    const previous = refusal({ model: "m", input: "Hi", previous_response_id: "resp_123" });
    expect(previous.status).toBe(400);
    expect(previous.param).toBe("previous_response_id");
    expect(previous.message).toContain("stores no responses");
    expect(previous.hint).toContain("input");
    expect(refusal({ model: "m", input: "Hi", conversation: "conv_1" }).param).toBe("conversation");
    const reference = refusal({ model: "m", input: [{ role: "user", content: "Hi" }, { type: "item_reference", id: "msg_1" }] });
    expect(reference.param).toBe("input[1]");
    expect(reference.hint).toContain("store: false");
    expect(refusal({ model: "m", input: "Hi", background: true }).param).toBe("background");
  });

  it("refuses built-in tools by name", () => {
    for (const type of ["web_search", "file_search", "code_interpreter", "computer_use_preview", "image_generation", "mcp"]) {
      const error = refusal({ model: "m", input: "Hi", tools: [{ type: "function", name: "f" }, { type }] });
      expect(error.code).toBe("tool_not_supported");
      expect(error.param).toBe("tools[1]");
      expect(error.message).toContain(`"${type}"`);
    }
    expect(refusal({ model: "m", input: "Hi", tools: [{ type: "function", name: "f" }], tool_choice: { type: "web_search_preview" } }).param).toBe("tool_choice");
  });

  it("refuses what it cannot honour, naming the parameter", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ input: "Hi" }, "model"],
      [{ model: "m" }, "input"],
      [{ model: "m", instructions: "Only instructions" }, "input"],
      [{ model: "m", input: 3 }, "input"],
      [{ model: "m", input: [{ role: "tool", content: "x" }] }, "input[0].role"],
      [{ model: "m", input: [{ role: "user", content: [{ type: "input_image", image_url: "http://x" }] }] }, "input[0].content[0]"],
      [{ model: "m", input: [{ type: "reasoning", id: "rs_1", summary: [] }] }, "input[0]"],
      [{ model: "m", input: [{ type: "function_call", call_id: "c" }] }, "input[0]"],
      [{ model: "m", input: "Hi", max_output_tokens: 0 }, "max_output_tokens"],
      [{ model: "m", input: "Hi", temperature: "hot" }, "temperature"],
      [{ model: "m", input: "Hi", include: ["message.output_text.logprobs"] }, "include"],
      [{ model: "m", input: "Hi", reasoning: { effort: "high" } }, "reasoning"],
      [{ model: "m", input: "Hi", truncation: "auto" }, "truncation"],
      [{ model: "m", input: "Hi", service_tier: "flex" }, "service_tier"],
      [{ model: "m", input: "Hi", top_logprobs: 3 }, "top_logprobs"],
      [{ model: "m", input: "Hi", text: { format: { type: "json_schema", schema: {} } } }, "text.format.name"],
      [{ model: "m", input: "Hi", text: { format: { type: "json_schema", name: "x" } } }, "text.format.schema"],
      [{ model: "m", input: "Hi", text: { format: { type: "xml" } } }, "text.format"],
      [{ model: "m", input: "Hi", text: { verbosity: "low" } }, "text.verbosity"],
      [{ model: "m", input: "Hi", tools: [{ type: "function", name: "f" }], tool_choice: { type: "allowed_tools", mode: "auto", tools: [{ type: "function", name: "g" }] } }, "tool_choice"],
      [{ model: "m", input: "Hi", seed: 1 }, "seed"],
      [{ model: "m", input: "Hi", prompt: { id: "pmpt_1" } }, "prompt"],
    ];
    for (const [request, param] of cases) expect(refusal(request).param, JSON.stringify(request)).toBe(param);
  });
});
