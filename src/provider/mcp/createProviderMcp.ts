import type { IncomingMessage, ServerResponse } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";
import { chatConversationInput } from "../../protocol/chatToolInput.ts";
import { sendJson } from "../../common/http.ts";
import type { Logger } from "../../common/logger.ts";
import type { Price } from "../../payments/price.ts";
import { encodeX402Header } from "../../protocol/x402/x402Codec.ts";
import { X402_MCP_META } from "../../protocol/x402/x402Mcp.ts";
import { X402_HEADERS, type PaymentPayload } from "../../protocol/x402/x402Types.ts";
import { chatToolResult } from "./chatToolResult.ts";
import { postToSelf } from "./postToSelf.ts";

/** The provider's MCP endpoint (Streamable HTTP, stateless): one paid tool, `chat`. */
export type ProviderMcp = {
  /** Serves one request to the endpoint (`POST /mcp`). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
};

export type ProviderMcpOptions = {
  /** The models the provider serves, by name, with their prices (base units per million tokens). */
  models: { name: string; price: Price }[];
  logger: Logger;
  /** Server name and version in MCP's `initialize`. */
  version?: string;
};

/**
 * Creates the provider's MCP endpoint, paid by the x402 MCP transport. Its tool `chat` makes a chat
 * request to the provider's own `/v1/chat/completions` (see postToSelf), carrying the payment of
 * `_meta["x402/payment"]` as that request's `PAYMENT-SIGNATURE`: the HTTP door prices it (the
 * request's worst case), verifies the payment and settles it through X402Splitter before anything
 * runs, exactly as for an HTTP client; the tool says what came back in the transport's terms.
 *
 * @example const mcp = createProviderMcp({ models: [{ name: "stories260K", price }], logger });
 */
export function createProviderMcp(options: ProviderMcpOptions): ProviderMcp {
  const { models, logger } = options;
  const prices = models
    .map((m) => `${m.name}: ${m.price.pricePerMillionInput} per million prompt tokens, ${m.price.pricePerMillionOutput} per million generated`)
    .join("; ");

  /** A server for one HTTP request: stateless, so each request gets its own. */
  const serverFor = (req: IncomingMessage) => {
    const server = new McpServer({ name: "gotong-provider", version: options.version ?? "0.1.0" });
    server.registerTool(
      "chat",
      {
        title: "Chat",
        description:
          `Chat with an open model served by this provider. Paid per call by x402 (scheme "exact", in params._meta["${X402_MCP_META.payment}"]): ` +
          `a call without payment returns the PaymentRequired. The price is the request's worst case (its prompt tokens and max_tokens, ` +
          `or the rest of the context without max_tokens), in the token's base units: ${prices}. The unused part is not refunded.`,
        inputSchema: {
          ...chatConversationInput,
          model: z.string().optional().describe(`The model's name; default: ${models[0]?.name ?? "the first served"}.`),
          max_tokens: z.number().int().positive().optional().describe("The most tokens to generate: it bounds the price."),
          temperature: z.number().min(0).max(2).optional(),
          top_p: z.number().gt(0).max(1).optional(),
          seed: z.number().int().optional(),
          stop: z.union([z.string(), z.array(z.string())]).optional(),
        },
      },
      async (args, extra) => {
        const messages = args.messages ?? (args.prompt !== undefined ? [{ role: "user" as const, content: args.prompt }] : undefined);
        if (!messages?.length) {
          return { isError: true, content: [{ type: "text" as const, text: "A chat needs a prompt or messages" }], _meta: { "gotong/error": { code: "invalid_arguments", message: "A chat needs a prompt or messages" } } };
        }
        const { prompt: _prompt, messages: _messages, model, ...generation } = args;
        const body = { model: model ?? models[0]?.name, messages, ...generation, stream: false };
        const payment = extra._meta?.[X402_MCP_META.payment];
        // Whatever the client put there goes to the HTTP door's own parser and verifier.
        const headers: Record<string, string> = payment === undefined ? {} : { [X402_HEADERS.paymentSignature]: encodeX402Header(payment as PaymentPayload) };
        const answer = await postToSelf(req, "/v1/chat/completions", body, headers, extra.signal);
        const result = chatToolResult(answer, payment !== undefined);
        if (result.isError) logger.debug("mcp chat not served", { status: answer.status, error: (result.structuredContent?.error as string | undefined) ?? "" });
        return result;
      },
    );
    return server;
  };

  return {
    async handle(req, res) {
      if (req.method !== "POST") {
        // Stateless: no session to stream to (GET) or end (DELETE).
        sendJson(res, 405, { jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed: this MCP endpoint is stateless, use POST" }, id: null }, { allow: "POST" });
        return;
      }
      const server = serverFor(req);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on("close", () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res);
    },
  };
}
