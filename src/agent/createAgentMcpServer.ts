import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { isAddress, zeroAddress, type Address } from "viem";
import { z } from "zod";
import { GotongError, isGotongError } from "../common/errors.ts";
import { formatUnits, parseUnits } from "../payments/price.ts";
import type { Agent } from "./createAgent.ts";
import { bigintAsString } from "../common/bigintJson.ts";

/** Turns bigints into strings, so results are plain JSON. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, bigintAsString));
}

/** A tool result carrying text for the model and the same as structured content. */
function ok(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: plain(structured) as Record<string, unknown> };
}

/** A refusal or failure, as a tool error the model can read (the message and what to do). */
function failed(error: unknown): CallToolResult {
  const message = (error as Error)?.message ?? String(error);
  const hint = isGotongError(error) ? error.hint : undefined;
  const code = isGotongError(error) ? error.code : "internal_error";
  return {
    isError: true,
    content: [{ type: "text", text: `${message}${hint ? `\nHint: ${hint}` : ""}` }],
    structuredContent: { error: { code, message, ...(hint ? { hint } : {}) } },
  };
}

/** Runs a tool body, turning any error into a tool error. */
async function guarded(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (error) {
    return failed(error);
  }
}

/** Parses an amount in whole tokens ("0.25") into base units. */
function amountOf(text: string, decimals: number): bigint {
  let amount: bigint;
  try {
    amount = parseUnits(text, decimals);
  } catch (cause) {
    throw new GotongError(`Invalid amount "${text}": ${(cause as Error).message}`, { code: "invalid_arguments", param: "amount", hint: 'Give it in whole tokens, as a decimal string: "0.25".' });
  }
  if (amount <= 0n) throw new GotongError("The amount must be above zero", { code: "invalid_arguments", param: "amount" });
  return amount;
}

/**
 * An MCP server exposing an agent's capabilities as tools: `chat`, `list_models`, `pay`, `donate`,
 * `balance` and `budget`. Every payment goes through the agent wallet's policy; a refusal (budget
 * exceeded, key revoked, wallet paused) comes back as a tool error saying why and what to do.
 * Connect it to a transport (`gotong mcp` uses stdio).
 */
export function createAgentMcpServer(agent: Agent, info: { name?: string; version?: string } = {}) {
  const server = new McpServer(
    { name: info.name ?? "gotong", version: info.version ?? "0.1.0" },
    {
      instructions:
        "Tools of a Gotong agent: chat with open models on a decentralized network, and pay, donate and check the balance and budget of the agent's own wallet. Amounts are decimal strings in whole tokens. Spending is limited by a budget per period that the wallet's owner set; a refused payment spends nothing.",
    },
  );
  const { token } = agent.deployment;
  const show = (amount: bigint) => `${formatUnits(amount, token.decimals)} ${token.symbol}`;

  server.registerTool(
    "list_models",
    { title: "List models", description: "The models on offer on the network, with how many providers serve each and the lowest prices (base units per million tokens).", inputSchema: {} },
    () =>
      guarded(async () => {
        const models = await agent.models();
        const text = models.length
          ? models.map((m) => `${m.name} (model ${m.modelId}): ${m.providers} provider(s), ${m.pricePerMillionInput}/${m.pricePerMillionOutput} base units per million input/output tokens`).join("\n")
          : "No models are on offer on this network yet.";
        return ok(text, { models });
      }),
  );

  server.registerTool(
    "chat",
    {
      title: "Chat",
      description: "Sends a chat request to an open model on the network, paid from the agent's wallet within its budget. Returns the answer and its cost.",
      inputSchema: {
        prompt: z.string().optional().describe("The user message (or give messages)."),
        messages: z
          .array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() }))
          .optional()
          .describe("The conversation, instead of a prompt."),
        model: z.string().optional().describe("The model's name (see list_models); default: the first on offer."),
        max_tokens: z.number().int().positive().max(4096).optional().describe("The most tokens to generate (default 128)."),
      },
    },
    (args) =>
      guarded(async () => {
        const model = args.model ?? (await agent.models())[0]?.name;
        if (!model) throw new GotongError("No models are on offer on this network yet", { code: "model_not_found" });
        const answer = await agent.chat({ model, prompt: args.prompt, messages: args.messages, maxTokens: args.max_tokens });
        return ok(answer.content, { ...answer, costFormatted: show(answer.cost) });
      }),
  );

  server.registerTool(
    "pay",
    {
      title: "Pay",
      description: `Pays an address from the agent's wallet, in ${token.symbol} (or the chain's native coin), within the wallet's budget. Refused, with nothing spent, if it would exceed the budget left or the per-transaction cap.`,
      inputSchema: {
        to: z.string().describe("The recipient's address (0x…)."),
        amount: z.string().describe(`The amount in whole tokens, e.g. "0.25".`),
        native: z.boolean().optional().describe("Pay in the chain's native coin instead of the token."),
      },
    },
    (args) =>
      guarded(async () => {
        if (!isAddress(args.to)) throw new GotongError(`Invalid address "${args.to}"`, { code: "invalid_arguments", param: "to" });
        const amount = amountOf(args.amount, args.native ? 18 : token.decimals);
        const paid = await agent.pay({ to: args.to as Address, amount, token: args.native ? zeroAddress : undefined });
        const budget = await agent.budget(paid.token);
        const fmt = (v: bigint) => `${formatUnits(v, budget.decimals)} ${budget.symbol}`;
        return ok(`Paid ${fmt(amount)} to ${args.to} (transaction ${paid.hash}). Budget left this period: ${fmt(budget.left)}.`, {
          hash: paid.hash,
          to: args.to,
          amount,
          token: paid.token,
          budgetLeft: budget.left,
        });
      }),
  );

  server.registerTool(
    "donate",
    {
      title: "Donate",
      description: "Donates to a project of a quadratic-funding round (open-source AI), from the agent's wallet within its budget. Small donations from many donors are matched the most.",
      inputSchema: {
        round_id: z.number().int().positive().describe("The funding round."),
        project_id: z.number().int().positive().describe("The project in that round."),
        amount: z.string().describe(`The amount in whole tokens, e.g. "1".`),
      },
    },
    (args) =>
      guarded(async () => {
        const amount = amountOf(args.amount, token.decimals);
        const donated = await agent.donate({ roundId: BigInt(args.round_id), projectId: BigInt(args.project_id), amount });
        return ok(`Donated ${show(amount)} to project ${args.project_id} of round ${args.round_id} (transaction ${donated.hash}).`, {
          hash: donated.hash,
          roundId: args.round_id,
          projectId: args.project_id,
          amount,
        });
      }),
  );

  server.registerTool(
    "balance",
    { title: "Balance", description: "What the agent's wallet holds, and the agent key's gas money.", inputSchema: {} },
    () =>
      guarded(async () => {
        const b = await agent.balance();
        return ok(`The wallet ${b.wallet} holds ${show(b.token.balance)} and ${formatUnits(b.native, 18)} ETH; the agent key has ${formatUnits(b.gas.balance, 18)} ETH for gas.`, b);
      }),
  );

  server.registerTool(
    "budget",
    {
      title: "Budget",
      description: "The wallet's budget: how much may be spent per period and per transaction, how much is spent and left in this period, and when it resets.",
      inputSchema: { token: z.string().optional().describe("A token address (default the network's token; 0x0000000000000000000000000000000000000000 for the native coin).") },
    },
    (args) =>
      guarded(async () => {
        if (args.token !== undefined && !isAddress(args.token)) throw new GotongError(`Invalid token address "${args.token}"`, { code: "invalid_arguments", param: "token" });
        const b = await agent.budget(args.token as Address | undefined);
        const fmt = (v: bigint) => `${formatUnits(v, b.decimals)} ${b.symbol}`;
        const state = b.revoked ? " The agent key is revoked: nothing can be spent." : b.paused ? " The owner has paused the wallet: nothing can be spent." : "";
        const text =
          b.period === 0
            ? `The wallet has no budget for ${b.symbol}: the agent cannot spend it.${state}`
            : `Spent ${fmt(b.spent)} of ${fmt(b.budget)} this period; ${fmt(b.left)} left, at most ${fmt(b.maxPerTransaction)} per transaction. Resets at ${new Date(b.resetsAt * 1000).toISOString()}.${state}`;
        return ok(text, b);
      }),
  );

  return server;
}
