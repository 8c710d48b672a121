import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";
import { gotongBin, runGotong } from "../test/helpers/cli.ts";
import { startChatNetwork } from "../test/helpers/network.ts";
import { median } from "./median.ts";

/** Milliseconds from spawning `gotong mcp` to each answer, over stdio as an MCP client sees them. */
type McpTimes = { initialize: number; toolsList: number; firstListModels: number; firstChat: number };

/**
 * How fast `gotong mcp` is ready: from spawning it to its answers to `initialize`, `tools/list`,
 * the first `list_models` (the agent's in-process gateway is up) and the first paid `chat` (a
 * channel opened, a request paid and its receipt checked), on a local network. The baseline is
 * `gotong --help` in the same run: the cost of starting Node, tsx and the CLI at all, which no
 * change to the agent can remove. The goal is `initialize` in under 2 s on these machines.
 */
export async function benchMcpStartup(runs = 5) {
  const net = await startChatNetwork();
  try {
    await net.provider(net.model.path);
    const env = { GOTONG_HOME: net.home.root, GOTONG_LOG_LEVEL: "warn" };
    const created = await runGotong(["agent", "create", "bench", "--budget", "50", "--period", "1d", "--fund", "100"], env);
    if (created.code !== 0) throw new Error(`gotong agent create failed: ${created.stderr}`);
    const baseline: number[] = [];
    const samples: McpTimes[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const help = await runGotong(["--help"], env);
      if (help.code !== 0) throw new Error(`gotong --help failed: ${help.stderr}`);
      baseline.push(performance.now() - started);
      samples.push(await timeMcp(env, net.model.name));
    }
    const of = (key: keyof McpTimes) => Math.round(median(samples.map((s) => s[key])));
    const initializeMs = of("initialize");
    return {
      cliStartMs: Math.round(median(baseline)),
      initializeMs,
      /** `initialize` against the bare CLI start: what the MCP server itself adds before it answers. */
      initializeOverCliStart: initializeMs / median(baseline),
      toolsListMs: of("toolsList"),
      firstListModelsMs: of("firstListModels"),
      firstChatMs: of("firstChat"),
      goal: "initialize answered in under 2 s",
      met: initializeMs < 2_000,
    };
  } finally {
    await net.stop();
  }
}

/** One `gotong mcp` run, driven over stdio by hand (newline-delimited JSON-RPC, as the protocol says). */
async function timeMcp(env: Record<string, string>, model: string): Promise<McpTimes> {
  const started = performance.now();
  const child = spawn(process.execPath, [gotongBin, "mcp", "--agent", "bench"], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"] });
  const waiting = new Map<number, (message: { result?: { isError?: boolean; content?: unknown }; error?: unknown }) => void>();
  let buffered = "";
  child.stdout.setEncoding("utf8").on("data", (data: string) => {
    buffered += data;
    for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
      const message = JSON.parse(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
      waiting.get(message.id)?.(message);
    }
  });
  let id = 0;
  const request = (method: string, params: Record<string, unknown>) =>
    new Promise<number>((resolve, reject) => {
      const n = ++id;
      waiting.set(n, (message) => {
        if (message.error || message.result?.isError) reject(new Error(`${method} failed: ${JSON.stringify(message.error ?? message.result?.content)}`));
        else resolve(performance.now() - started);
      });
      child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: n, method, params }) + "\n");
    });
  try {
    const initialize = await request("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } });
    child.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
    const toolsList = await request("tools/list", {});
    const firstListModels = await request("tools/call", { name: "list_models", arguments: {} });
    const firstChat = await request("tools/call", { name: "chat", arguments: { model, prompt: "Once upon a time", max_tokens: 4 } });
    return { initialize, toolsList, firstListModels, firstChat };
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stdin.end(); // end of input: the server settles its last vouchers and exits
    await exited;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchMcpStartup(), null, 2));
}
