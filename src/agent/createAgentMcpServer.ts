import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { isAddress, zeroAddress, type Address } from "viem";
import { z } from "zod";
import { chatConversationInput } from "../protocol/chatToolInput.ts";
import { GotongError, isGotongError } from "../common/errors.ts";
import { formatUnits, parseUnits } from "../payments/price.ts";
import type { Agent } from "./createAgent.ts";
import { bigintAsString } from "../common/bigintJson.ts";

/** Turns bigints into strings, so results are plain JSON. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, bigintAsString));
}

/** A tool result carrying text for the model and the same as structured content (matching the tool's output schema). */
function ok(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: plain(structured) as Record<string, unknown> };
}

/**
 * A refusal or failure, as a tool error the model can read (the message and what to do). It carries
 * no structured content, which would have to match the tool's output schema; the error's code,
 * message and hint travel in `_meta` for programs.
 */
function failed(error: unknown): CallToolResult {
  const message = (error as Error)?.message ?? String(error);
  const hint = isGotongError(error) ? error.hint : undefined;
  const code = isGotongError(error) ? error.code : "internal_error";
  return {
    isError: true,
    content: [{ type: "text", text: `${message}${hint ? `\nHint: ${hint}` : ""}` }],
    _meta: { "gotong/error": { code, message, ...(hint ? { hint } : {}) } },
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

/**
 * The decimal text of a JSON number, digit for digit as the client wrote it (JavaScript prints the
 * shortest decimal that reads back as the same number), with an exponent written out: 0.1 is
 * "0.1", 1e-7 is "0.0000001". Amounts are then parsed from this text, never by float arithmetic.
 */
export function decimalOf(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`${value} is not a finite number`);
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text;
  const [, sign, whole, fraction = "", exponent] = match;
  const digits = whole! + fraction;
  const point = whole!.length + Number(exponent);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Parses an amount in whole tokens (the string "0.25" or the number 0.25) into base units, exactly. */
export function amountOf(value: string | number, decimals: number): bigint {
  let amount: bigint;
  const text = typeof value === "number" ? (Number.isFinite(value) ? decimalOf(value) : String(value)) : value;
  try {
    amount = parseUnits(text, decimals);
  } catch (cause) {
    throw new GotongError(`Invalid amount "${text}": ${(cause as Error).message}`, { code: "invalid_arguments", param: "amount", hint: 'Give it in whole tokens, as a number or a decimal string: 0.25 or "0.25".' });
  }
  if (amount <= 0n) throw new GotongError("The amount must be above zero", { code: "invalid_arguments", param: "amount" });
  return amount;
}

/** An amount in whole tokens, as a tool takes it: a decimal string or a number. */
const amountInput = (example: string) => z.union([z.string(), z.number()]).describe(`The amount in whole tokens, as a number or a decimal string, e.g. ${example} or "${example}".`);
const address = z.string().describe("An address (0x…).");
const baseUnits = z.string().describe("An amount in base units (a decimal integer string).");

/** Output schemas of the tools: what each one's structured content holds, exactly. */
const outputs = {
  list_models: {
    models: z.array(
      z.object({ name: z.string(), modelId: z.string(), providers: z.number(), pricePerMillionInput: baseUnits, pricePerMillionOutput: baseUnits }),
    ).describe("The models on offer, with the lowest prices in base units per million input/output tokens."),
  },
  chat: {
    content: z.string().describe("The model's answer."),
    model: z.string(),
    cost: baseUnits.describe("What the request cost, in base units."),
    costFormatted: z.string().describe("The cost in whole tokens, with the token's symbol."),
    inputTokens: z.number(),
    outputTokens: z.number(),
    receiptId: z.string().describe("The provider's signed receipt for the request."),
    provider: address,
  },
  pay: { hash: z.string().describe("The transaction."), to: address, amount: baseUnits, token: address.describe("The token paid (0x000…0 for the native coin)."), budgetLeft: baseUnits },
  donate: { hash: z.string().describe("The transaction."), roundId: z.number(), projectId: z.number(), amount: baseUnits },
  balance: {
    wallet: address,
    token: z.object({ address, symbol: z.string(), decimals: z.number(), balance: baseUnits }),
    native: baseUnits.describe("The wallet's native coin, in wei."),
    gas: z.object({ agent: address, balance: baseUnits.describe("The agent key's native coin for gas, in wei.") }),
  },
  budget: {
    token: address,
    symbol: z.string(),
    decimals: z.number(),
    budget: baseUnits.describe("What may be spent per period."),
    maxPerTransaction: baseUnits,
    period: z.number().describe("Seconds; 0 when the token has no budget."),
    periodStart: z.number().describe("Unix seconds."),
    resetsAt: z.number().describe("Unix seconds when the budget resets."),
    spent: baseUnits,
    left: baseUnits,
    paused: z.boolean(),
    revoked: z.boolean(),
  },
};

/** An agent, or how to get one when a tool is first called (it may not be set up yet). */
export type AgentSource = Agent | (() => Promise<Agent>);

/**
 * An MCP server exposing an agent's capabilities as tools: `chat`, `list_models`, `pay`, `donate`,
 * `balance` and `budget`, each with an output schema its structured content matches. Every payment
 * goes through the agent wallet's policy; a refusal (budget exceeded, key revoked, wallet paused)
 * comes back as a tool error saying why and what to do. Given a function instead of an agent, the
 * agent is made on the first tool call, and again on the next while making it fails: a server
 * started before its agent was set up stays connected and answers each call with what to run.
 * Connect it to a transport (`gotong mcp` uses stdio).
 *
 * @param source The agent, or how to make it.
 * @param info The server's name and version, and the token amounts are in (for the tools' descriptions).
 */
export function createAgentMcpServer(source: AgentSource, info: { name?: string; version?: string; token?: { symbol: string } } = {}) {
  const server = new McpServer(
    { name: info.name ?? "gotong", version: info.version ?? "0.1.0" },
    {
      instructions:
        "Tools of a Gotong agent: chat with open models on a decentralized network, and pay, donate and check the balance and budget of the agent's own wallet. Amounts are in whole tokens, as numbers or decimal strings. Spending is limited by a budget per period that the wallet's owner set; a refused payment spends nothing.",
    },
  );
  let loading: Promise<Agent> | undefined = typeof source === "function" ? undefined : Promise.resolve(source);
  /** The agent, made on first use; a failure is not remembered, so a call after the fix succeeds. */
  const agentNow = (): Promise<Agent> =>
    (loading ??= (source as () => Promise<Agent>)().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
  const symbol = typeof source === "function" ? (info.token?.symbol ?? "tokens") : source.deployment.token.symbol;
  const show = (agent: Agent, amount: bigint) => `${formatUnits(amount, agent.deployment.token.decimals)} ${agent.deployment.token.symbol}`;

  server.registerTool(
    "list_models",
    {
      title: "List models",
      description: "The models on offer on the network, with how many providers serve each and the lowest prices (base units per million tokens).",
      inputSchema: {},
      outputSchema: outputs.list_models,
    },
    () =>
      guarded(async () => {
        const models = await (await agentNow()).models();
        const text = models.length
          ? models.map((m) => `${m.name} (model ${m.modelId}): ${m.providers} provider(s), ${m.pricePerMillionInput}/${m.pricePerMillionOutput} base units per million input/output tokens`).join("\n")
          : "No models are on offer on this network yet.";
        return ok(text, { models: models.map((m) => ({ name: m.name, modelId: m.modelId, providers: m.providers, pricePerMillionInput: m.pricePerMillionInput, pricePerMillionOutput: m.pricePerMillionOutput })) });
      }),
  );

  server.registerTool(
    "chat",
    {
      title: "Chat",
      description: "Sends a chat request to an open model on the network, paid from the agent's wallet within its budget. Returns the answer and its cost.",
      inputSchema: {
        ...chatConversationInput,
        model: z.string().optional().describe("The model's name (see list_models); default: the first on offer."),
        max_tokens: z.number().int().positive().max(4096).optional().describe("The most tokens to generate (default 128)."),
      },
      outputSchema: outputs.chat,
    },
    (args) =>
      guarded(async () => {
        const agent = await agentNow();
        const model = args.model ?? (await agent.models())[0]?.name;
        if (!model) throw new GotongError("No models are on offer on this network yet", { code: "model_not_found" });
        const a = await agent.chat({ model, prompt: args.prompt, messages: args.messages, maxTokens: args.max_tokens });
        return ok(a.content, { content: a.content, model: a.model, cost: a.cost, costFormatted: show(agent, a.cost), inputTokens: a.inputTokens, outputTokens: a.outputTokens, receiptId: a.receiptId, provider: a.provider });
      }),
  );

  server.registerTool(
    "pay",
    {
      title: "Pay",
      description: `Pays an address from the agent's wallet, in ${symbol} (or the chain's native coin), within the wallet's budget. Refused, with nothing spent, if it would exceed the budget left or the per-transaction cap.`,
      inputSchema: {
        to: z.string().describe("The recipient's address (0x…)."),
        amount: amountInput("0.25"),
        native: z.boolean().optional().describe("Pay in the chain's native coin instead of the token."),
      },
      outputSchema: outputs.pay,
    },
    (args) =>
      guarded(async () => {
        const agent = await agentNow();
        if (!isAddress(args.to)) throw new GotongError(`Invalid address "${args.to}"`, { code: "invalid_arguments", param: "to" });
        const amount = amountOf(args.amount, args.native ? 18 : agent.deployment.token.decimals);
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
        amount: amountInput("1"),
      },
      outputSchema: outputs.donate,
    },
    (args) =>
      guarded(async () => {
        const agent = await agentNow();
        const amount = amountOf(args.amount, agent.deployment.token.decimals);
        const donated = await agent.donate({ roundId: BigInt(args.round_id), projectId: BigInt(args.project_id), amount });
        return ok(`Donated ${show(agent, amount)} to project ${args.project_id} of round ${args.round_id} (transaction ${donated.hash}).`, {
          hash: donated.hash,
          roundId: args.round_id,
          projectId: args.project_id,
          amount,
        });
      }),
  );

  server.registerTool(
    "balance",
    { title: "Balance", description: "What the agent's wallet holds, and the agent key's gas money.", inputSchema: {}, outputSchema: outputs.balance },
    () =>
      guarded(async () => {
        const agent = await agentNow();
        const b = await agent.balance();
        return ok(`The wallet ${b.wallet} holds ${show(agent, b.token.balance)} and ${formatUnits(b.native, 18)} ETH; the agent key has ${formatUnits(b.gas.balance, 18)} ETH for gas.`, {
          wallet: b.wallet,
          token: { address: b.token.address, symbol: b.token.symbol, decimals: b.token.decimals, balance: b.token.balance },
          native: b.native,
          gas: { agent: b.gas.agent, balance: b.gas.balance },
        });
      }),
  );

  server.registerTool(
    "budget",
    {
      title: "Budget",
      description: "The wallet's budget: how much may be spent per period and per transaction, how much is spent and left in this period, and when it resets.",
      inputSchema: { token: z.string().optional().describe("A token address (default the network's token; 0x0000000000000000000000000000000000000000 for the native coin).") },
      outputSchema: outputs.budget,
    },
    (args) =>
      guarded(async () => {
        const agent = await agentNow();
        if (args.token !== undefined && !isAddress(args.token)) throw new GotongError(`Invalid token address "${args.token}"`, { code: "invalid_arguments", param: "token" });
        const b = await agent.budget(args.token as Address | undefined);
        const fmt = (v: bigint) => `${formatUnits(v, b.decimals)} ${b.symbol}`;
        const state = b.revoked ? " The agent key is revoked: nothing can be spent." : b.paused ? " The owner has paused the wallet: nothing can be spent." : "";
        const text =
          b.period === 0
            ? `The wallet has no budget for ${b.symbol}: the agent cannot spend it.${state}`
            : `Spent ${fmt(b.spent)} of ${fmt(b.budget)} this period; ${fmt(b.left)} left, at most ${fmt(b.maxPerTransaction)} per transaction. Resets at ${new Date(b.resetsAt * 1000).toISOString()}.${state}`;
        return ok(text, {
          token: b.token,
          symbol: b.symbol,
          decimals: b.decimals,
          budget: b.budget,
          maxPerTransaction: b.maxPerTransaction,
          period: b.period,
          periodStart: b.periodStart,
          resetsAt: b.resetsAt,
          spent: b.spent,
          left: b.left,
          paused: b.paused,
          revoked: b.revoked,
        });
      }),
  );

  return server;
}
