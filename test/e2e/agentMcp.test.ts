import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { erc20Abi, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { readAgentConfig } from "../../src/agent/agentConfig.ts";
import { openAgent } from "../../src/agent/openAgent.ts";
import { gotongBin, runGotong } from "../helpers/cli.ts";
import { quietLogger, startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";

/** The TCP ports a process listens on (Linux: its socket fds matched against /proc/net/tcp{,6} in state LISTEN). */
function listeningPortsOf(pid: number): number[] {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      const link = (() => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return ""; // closed meanwhile
        }
      })();
      return /^socket:\[(\d+)\]$/.exec(link)?.[1] ?? [];
    }),
  );
  return ["tcp", "tcp6"].flatMap((table) =>
    readFileSync(`/proc/${pid}/net/${table}`, "utf8")
      .split("\n")
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols[3] === "0A" && inodes.has(cols[9]!))
      .map((cols) => parseInt(cols[1]!.split(":")[1]!, 16)),
  );
}

type ToolResult = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, unknown> };

describe("gotong agent and gotong mcp", () => {
  let net: ChatNetwork;
  let client: Client;
  let wallet: Address;
  const env = () => ({ GOTONG_HOME: net.home.root, GOTONG_LOG_LEVEL: "warn" });
  const gotong = (args: string[]) => runGotong(args, env());
  const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as ToolResult;
  const text = (r: ToolResult) => r.content.map((c) => c.text ?? "").join("\n");

  beforeAll(async () => {
    net = await startChatNetwork();
    await net.provider(net.model.path);
  });
  afterAll(async () => {
    await client?.close().catch(() => {});
    await net?.stop();
  });

  it("refuses an impossible period, with a clear error, and creates nothing", async () => {
    for (const period of ["0", "59s", "2y", "400d"]) {
      const r = await gotong(["agent", "create", "broken", "--period", period]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/error: (A budget period of \d+ seconds is impossible|Invalid period)/);
    }
    const cap = await gotong(["agent", "create", "broken", "--budget", "1", "--max-per-tx", "2"]);
    expect(cap.code).toBe(1);
    expect(cap.stderr).toContain("must be between 1 and the budget");
    expect((await gotong(["agent", "list"])).stdout).toContain("no agents yet");
  });

  it("creates an agent wallet with a budget and an identity, and shows its status", async () => {
    const created = await gotong(["agent", "create", "bot", "--budget", "5", "--max-per-tx", "2", "--period", "1h", "--fund", "20", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const config = JSON.parse(created.stdout) as { wallet: Address; agentId: string; agent: Address };
    wallet = config.wallet;
    expect(config.agentId).toBe("1");
    expect(readAgentConfig(net.home, "bot").wallet).toBe(wallet);
    const balance = await net.creator.public.readContract({ address: net.devnet.deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [wallet] });
    expect(balance).toBe(20n * UNIT);

    const status = await gotong(["agent", "status", "bot"]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain("state    active");
    expect(status.stdout).toMatch(/budget {3}5 gUSD per 1h \(max 2 gUSD per transaction\): 0 gUSD spent, 5 gUSD left/);
    expect(status.stdout).toContain("identity agent #1 (bound to this wallet)");
  });

  it("serves chat, list_models, pay, donate, balance and budget to the official MCP client", async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [gotongBin, "mcp", "--agent", "bot"], env: { ...(process.env as Record<string, string>), ...env() }, stderr: "pipe" });
    client = new Client({ name: "gotong-e2e", version: "1.0.0" });
    await client.connect(transport);

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["balance", "budget", "chat", "donate", "list_models", "pay"]);
    // Every tool declares what its structured content holds; the client checks each result against it.
    for (const t of tools) expect(t.outputSchema, t.name).toMatchObject({ type: "object" });

    const models = await call("list_models");
    expect(models.isError).toBeFalsy();
    expect(text(models)).toContain(net.model.name);

    const chat = await call("chat", { prompt: "Once upon a time", max_tokens: 8 });
    expect(chat.isError, text(chat)).toBeFalsy();
    expect(BigInt(chat.structuredContent!.cost as string)).toBeGreaterThan(0n);
    expect(chat.structuredContent!.outputTokens).toBeGreaterThan(0);

    const merchant = privateKeyToAccount(generatePrivateKey()).address;
    const paid = await call("pay", { to: merchant, amount: "1.5" });
    expect(paid.isError, text(paid)).toBeFalsy();
    expect(text(paid)).toContain("Paid 1.5 gUSD");
    const received = await net.creator.public.readContract({ address: net.devnet.deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [merchant] });
    expect(received).toBe(1_500_000n);

    // The channel deposit (1% of the 5-token budget: 0.05) and the payment (1.5) are spent: 3.45 of 5 left.
    const budget = await call("budget");
    expect(budget.isError).toBeFalsy();
    expect(budget.structuredContent!.left).toBe("3450000");
    expect(text(budget)).toContain("Spent 1.55 gUSD of 5 gUSD this period; 3.45 gUSD left");

    const balance = await call("balance");
    expect(balance.isError).toBeFalsy();
    expect(text(balance)).toContain(`The wallet ${wallet}`);

    // The agent called its gateway core in-process: it paid for a chat without binding a port (no
    // HTTP server, no web app, no loopback call). The check sees this test's own providers' ports.
    expect(listeningPortsOf(process.pid).length).toBeGreaterThan(0);
    expect(listeningPortsOf(transport.pid!)).toEqual([]);
  });

  it("returns refusals as tool errors that say why, and nothing is spent", async () => {
    const merchant = privateKeyToAccount(generatePrivateKey()).address;
    const overCap = await call("pay", { to: merchant, amount: "2.5" });
    expect(overCap.isError).toBe(true);
    expect(text(overCap)).toContain("above the cap of 2 gUSD per transaction");

    const badAmount = await call("pay", { to: merchant, amount: "-1" });
    expect(badAmount.isError).toBe(true);
    expect(text(badAmount)).toContain("Invalid amount");

    const noRound = await call("donate", { round_id: 42, project_id: 1, amount: "1" });
    expect(noRound.isError).toBe(true);
    expect(text(noRound)).toContain("round 42 was not found");

    await call("pay", { to: merchant, amount: "2" });
    const overBudget = await call("pay", { to: merchant, amount: "1.5" });
    expect(overBudget.isError).toBe(true);
    expect(text(overBudget)).toMatch(/only 1.45 gUSD of the budget is left this period: nothing was spent\nHint: The budget of 5 gUSD resets at/);
    const received = await net.creator.public.readContract({ address: net.devnet.deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [merchant] });
    expect(received).toBe(2n * UNIT);
  });

  it("lets the owner pause, change the policy and revoke at once", async () => {
    const merchant = privateKeyToAccount(generatePrivateKey()).address;
    expect((await gotong(["agent", "policy", "bot", "--pause"])).code).toBe(0);
    const paused = await call("pay", { to: merchant, amount: "0.1" });
    expect(paused.isError).toBe(true);
    expect(text(paused)).toContain("paused");
    expect((await gotong(["agent", "status", "bot"])).stdout).toContain("PAUSED");

    const raised = await gotong(["agent", "policy", "bot", "--unpause", "--budget", "8"]);
    expect(raised.code, raised.stderr).toBe(0);
    expect((await call("pay", { to: merchant, amount: "1" })).isError).toBeFalsy();

    const revoked = await gotong(["agent", "revoke", "bot"]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain("revoked");
    const refused = await call("pay", { to: merchant, amount: "0.1" });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain("was revoked by the wallet's owner");
    expect((await gotong(["agent", "status", "bot"])).stdout).toContain("agent    REVOKED");
    const bad = await gotong(["agent", "policy", "bot", "--period", "0", "--budget", "1"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("impossible");
  });
  it("without an agent stays connected, says on each tool call what to run, then serves once it exists; amounts may be numbers", async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [gotongBin, "mcp", "--agent", "later"], env: { ...(process.env as Record<string, string>), ...env() }, stderr: "pipe" });
    const later = new Client({ name: "gotong-e2e-later", version: "1.0.0" });
    await later.connect(transport);
    try {
      const callLater = async (name: string, args: Record<string, unknown> = {}) => (await later.callTool({ name, arguments: args })) as ToolResult & { _meta?: Record<string, unknown> };
      expect((await later.listTools()).tools).toHaveLength(6);
      for (const tool of ["balance", "list_models"]) {
        const refused = await callLater(tool);
        expect(refused.isError, tool).toBe(true);
        expect(text(refused)).toContain('No agent named "later"');
        expect(text(refused)).toContain(`Run \`gotong agent create later --home ${net.home.root}\``);
        expect(refused._meta?.["gotong/error"]).toMatchObject({ code: "agent_not_found" });
      }
      // Set up now, while the client stays connected: the next call works.
      const created = await gotong(["agent", "create", "later", "--budget", "3", "--max-per-tx", "2", "--period", "1h", "--fund", "3"]);
      expect(created.code, created.stderr).toBe(0);
      const merchant = privateKeyToAccount(generatePrivateKey()).address;
      const paid = await callLater("pay", { to: merchant, amount: 0.1 });
      expect(paid.isError, text(paid)).toBeFalsy();
      expect(paid.structuredContent!.amount).toBe("100000");
      const tiny = await callLater("pay", { to: merchant, amount: 1e-6 });
      expect(tiny.isError, text(tiny)).toBeFalsy();
      expect(tiny.structuredContent!.amount).toBe("1");
      const received = await net.creator.public.readContract({ address: net.devnet.deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [merchant] });
      expect(received).toBe(100_001n);
      // More precision than the token has is refused, not rounded.
      const tooFine = await callLater("pay", { to: merchant, amount: 1e-7 });
      expect(tooFine.isError).toBe(true);
      expect(text(tooFine)).toContain('Invalid amount "0.0000001"');
      const budget = await callLater("budget");
      expect(budget.isError, text(budget)).toBeFalsy();
      expect(budget.structuredContent).toMatchObject({ spent: "100001", symbol: "gUSD", decimals: 6, revoked: false });
    } finally {
      await later.close().catch(() => {});
    }
  });

  it("the SDK chats through the core in-process, and serves an OpenAI endpoint only when asked", async () => {
    const agent = await openAgent("later", { home: net.home.root, logger: quietLogger() });
    const listen = vi.spyOn(Server.prototype, "listen");
    try {
      const [model] = await agent.models();
      expect(model!.name).toBe(net.model.name);
      const answer = await agent.chat({ model: net.model.name, prompt: "Once upon a time", maxTokens: 4 });
      expect(answer.cost).toBeGreaterThan(0n);
      expect(answer.outputTokens).toBeGreaterThan(0);
      expect(listen).not.toHaveBeenCalled();

      // Asked for, the endpoint is one loopback server over the same core: OpenAI clients pay from the wallet.
      const baseUrl = await agent.baseUrl();
      expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      expect(await agent.baseUrl()).toBe(baseUrl);
      expect(listen).toHaveBeenCalledTimes(1);
      const res = await fetch(`${baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 4 }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { gotong: { cost: string; receiptId: string } };
      expect(BigInt(body.gotong.cost)).toBeGreaterThan(0n);
      expect(body.gotong.receiptId).not.toBe(answer.receiptId);
      // Not the web app: the agent's endpoint serves the API only.
      const page = await fetch(baseUrl.replace(/\/v1$/, "/"));
      expect(page.status).toBe(404);
      await page.body?.cancel();
    } finally {
      listen.mockRestore();
      await agent.close();
    }
  });
});
