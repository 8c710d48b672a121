import { describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { zeroAddress, type Address } from "viem";
import { GotongError } from "../common/errors.ts";
import type { Agent } from "./createAgent.ts";
import { amountOf, createAgentMcpServer, decimalOf, type AgentSource } from "./createAgentMcpServer.ts";

type Result = { isError?: boolean; content: { text?: string }[]; structuredContent?: Record<string, unknown> };

/** An agent whose chain is a few variables: enough to check the tools' contract. */
function fakeAgent() {
  const paid: { to: Address; amount: bigint; token: Address }[] = [];
  let left = 5_000_000n;
  const agent = {
    wallet: "0x00000000000000000000000000000000000000aa" as Address,
    deployment: { token: { address: "0x00000000000000000000000000000000000000bb", symbol: "gUSD", decimals: 6 } },
    models: async () => [{ name: "tiny", modelId: 1n, providers: 2, pricePerMillionInput: 1n, pricePerMillionOutput: 2n }],
    chat: async (r: { model: string; prompt?: string }) => ({ content: `echo ${r.prompt}`, model: r.model, cost: 42n, inputTokens: 3, outputTokens: 2, receiptId: "0x01", provider: zeroAddress }),
    pay: async (r: { to: Address; amount: bigint; token?: Address }) => {
      if (r.amount > left) throw new GotongError("Only so much is left: nothing was spent", { code: "budget_exceeded", hint: "Wait for the reset." });
      left -= r.amount;
      paid.push({ to: r.to, amount: r.amount, token: r.token ?? "0x00000000000000000000000000000000000000bb" });
      return { hash: "0xabc", to: r.to, amount: r.amount, token: r.token ?? "0x00000000000000000000000000000000000000bb" };
    },
    donate: async () => {
      throw new GotongError("Funding round 9 was not found", { code: "round_not_found" });
    },
    balance: async () => ({ wallet: "0x00000000000000000000000000000000000000aa", token: { address: zeroAddress, symbol: "gUSD", decimals: 6, balance: 7_000_000n }, native: 0n, gas: { agent: zeroAddress, balance: 10n ** 18n } }),
    budget: async () => ({ token: zeroAddress, budget: 5_000_000n, maxPerTransaction: 2_000_000n, period: 3600, periodStart: 0, resetsAt: 3600, spent: 5_000_000n - left, left, paused: false, revoked: false, symbol: "gUSD", decimals: 6 }),
  };
  return { agent: agent as unknown as Agent, paid };
}

async function connect(agent: AgentSource) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createAgentMcpServer(agent).connect(serverSide);
  const client = new Client({ name: "test", version: "1" });
  await client.connect(clientSide);
  return { client, call: async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as Result };
}

describe("createAgentMcpServer", () => {
  it("lists the six tools with input schemas", async () => {
    const { client } = await connect(fakeAgent().agent);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["balance", "budget", "chat", "donate", "list_models", "pay"]);
    const pay = tools.find((t) => t.name === "pay")!;
    expect(pay.inputSchema.required).toEqual(["to", "amount"]);
  });

  it("pays amounts given in whole tokens, exactly, in base units", async () => {
    const { agent, paid } = fakeAgent();
    const { call } = await connect(agent);
    const r = await call("pay", { to: "0x00000000000000000000000000000000000000cc", amount: "1.25" });
    expect(r.isError).toBeFalsy();
    expect(paid).toEqual([{ to: "0x00000000000000000000000000000000000000cc", amount: 1_250_000n, token: "0x00000000000000000000000000000000000000bb" }]);
    expect(r.structuredContent).toMatchObject({ amount: "1250000", budgetLeft: "3750000" });
  });

  it("turns refusals and bad input into tool errors with the hint, spending nothing", async () => {
    const { agent, paid } = fakeAgent();
    const { call } = await connect(agent);
    const over = await call("pay", { to: "0x00000000000000000000000000000000000000cc", amount: "6" });
    expect(over.isError).toBe(true);
    expect(over.content[0]!.text).toBe("Only so much is left: nothing was spent\nHint: Wait for the reset.");
    // No structured content on an error (it would have to match the tool's output schema): the code travels in _meta.
    expect(over.structuredContent).toBeUndefined();
    expect((over as { _meta?: Record<string, unknown> })._meta?.["gotong/error"]).toEqual({ code: "budget_exceeded", message: "Only so much is left: nothing was spent", hint: "Wait for the reset." });
    for (const amount of ["0", "-1", "1.0000001", "abc"]) {
      expect((await call("pay", { to: "0x00000000000000000000000000000000000000cc", amount })).isError, amount).toBe(true);
    }
    expect((await call("pay", { to: "not an address", amount: "1" })).isError).toBe(true);
    expect((await call("donate", { round_id: 9, project_id: 1, amount: "1" })).isError).toBe(true);
    expect(paid).toEqual([]);
  });

  it("chats with the first model when none is named, and reports the cost", async () => {
    const { call } = await connect(fakeAgent().agent);
    const r = await call("chat", { prompt: "hi" });
    expect(r.content[0]!.text).toBe("echo hi");
    expect(r.structuredContent).toMatchObject({ model: "tiny", cost: "42", costFormatted: "0.000042 gUSD" });
  });

  it("reports the budget and the balance in tokens", async () => {
    const { call } = await connect(fakeAgent().agent);
    expect((await call("budget")).content[0]!.text).toContain("Spent 0 gUSD of 5 gUSD this period; 5 gUSD left, at most 2 gUSD per transaction.");
    expect((await call("balance")).content[0]!.text).toContain("holds 7 gUSD");
  });
});

describe("createAgentMcpServer without an agent yet", () => {
  it("answers each call with why and what to run, and serves once the agent can be made", async () => {
    let ready = false;
    let made = 0;
    const { agent } = fakeAgent();
    const { client, call } = await connect(async () => {
      if (!ready) throw new GotongError('No agent named "later"', { code: "agent_not_found", hint: "Run `gotong agent create later`, then call the tool again." });
      made++;
      return agent;
    });
    expect((await client.listTools()).tools).toHaveLength(6);
    for (let i = 0; i < 2; i++) {
      const r = await call("balance");
      expect(r.isError).toBe(true);
      expect(r.content[0]!.text).toBe('No agent named "later"\nHint: Run `gotong agent create later`, then call the tool again.');
    }
    ready = true;
    expect((await call("balance")).isError).toBeFalsy();
    expect((await call("budget")).isError).toBeFalsy();
    expect(made).toBe(1);
  });

  it("declares an output schema for every tool, which each result's structured content matches", async () => {
    const { client, call } = await connect(fakeAgent().agent);
    const { tools } = await client.listTools();
    for (const t of tools) expect(t.outputSchema, t.name).toMatchObject({ type: "object", additionalProperties: false });
    // The client validates structured content against the schema: these throw if it does not match.
    for (const [name, args] of [["list_models", {}], ["chat", { prompt: "hi" }], ["pay", { to: "0x00000000000000000000000000000000000000cc", amount: 1 }], ["balance", {}], ["budget", {}]] as const) {
      const r = await call(name, args);
      expect(r.isError, name).toBeFalsy();
      expect(r.structuredContent, name).toBeDefined();
    }
  });
});

describe("MCP tool amounts, as numbers or decimal strings", () => {
  it("reads a number from its decimal text, never through float arithmetic", () => {
    expect(amountOf(0.1, 6)).toBe(100_000n);
    expect(amountOf("0.1", 6)).toBe(100_000n);
    expect(amountOf(1.5, 6)).toBe(1_500_000n);
    expect(amountOf(0.000001, 6)).toBe(1n);
    expect(amountOf(0.1, 18)).toBe(100_000_000_000_000_000n);
    expect(amountOf(12345678.9, 6)).toBe(12_345_678_900_000n);
    expect(amountOf(1e21, 0)).toBe(10n ** 21n);
  });

  it("writes exponents out", () => {
    expect(decimalOf(1e-7)).toBe("0.0000001");
    expect(decimalOf(1.25e-7)).toBe("0.000000125");
    expect(decimalOf(1e21)).toBe("1000000000000000000000");
    expect(decimalOf(1.5e22)).toBe("15000000000000000000000");
    expect(decimalOf(42)).toBe("42");
  });

  it("refuses what is not an exact positive amount of the token", () => {
    expect(() => amountOf(0.1 + 0.2, 6)).toThrow('Invalid amount "0.30000000000000004"');
    expect(() => amountOf(1e-7, 6)).toThrow("more than 6 decimal places");
    expect(() => amountOf(-1, 6)).toThrow("Invalid amount");
    expect(() => amountOf(Number.NaN, 6)).toThrow("Invalid amount");
    expect(() => amountOf(Number.POSITIVE_INFINITY, 6)).toThrow("Invalid amount");
    expect(() => amountOf(0, 6)).toThrow("above zero");
  });
});
