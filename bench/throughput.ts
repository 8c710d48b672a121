import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { spawnGotong, type CliProcess } from "../test/helpers/cli.ts";
import { freePort } from "../test/helpers/ports.ts";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { getLlama, LlamaCompletion } from "node-llama-cpp";
import { createChannelManager } from "../src/gateway/createChannelManager.ts";
import { createGatewayStore } from "../src/gateway/createGatewayStore.ts";
import { fundOnDevnet } from "../src/chain/fundOnDevnet.ts";
import { createClients } from "../src/chain/createClients.ts";
import { receiptFromJson } from "../src/protocol/receipt.ts";
import { encodeVoucherHeader } from "../src/protocol/voucher.ts";
import { startChatNetwork, quietLogger } from "../test/helpers/network.ts";
import { median } from "./median.ts";
import Database from "better-sqlite3";

type Run = { ttftMs: number; tokens: number; decodeTps: number };

/** A run that started at `started`, wrote its first output at `first` and its last at `last`. */
const runOf = (started: number, first: number, last: number, tokens: number): Run => ({ ttftMs: first - started, tokens, decodeTps: (tokens - 1) / ((last - first) / 1000) });

/**
 * Reads an SSE completion stream like a lean client: it notes when content arrives and parses only
 * the final events (usage and receipt), so the client's own JSON work does not weigh on the figures.
 */
async function timeStream(res: Response, started: number): Promise<Run & { receipt?: unknown }> {
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  let first = 0;
  let last = 0;
  let tail = "";
  const decoder = new TextDecoder();
  for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
    const now = performance.now();
    if (!first) first = now;
    last = now;
    tail = (tail + decoder.decode(bytes, { stream: true })).slice(-8192);
  }
  let tokens = 0;
  let receipt: unknown;
  for (const event of tail.split("\n\n")) {
    // The receipt rides on the last choice's event, the usage on its own event after it.
    if (!event.startsWith("data: {") || !(event.includes('"usage"') || event.includes('"receipt"'))) continue;
    try {
      const chunk = JSON.parse(event.slice(6)) as { usage?: { completion_tokens: number }; gotong?: { receipt?: unknown } };
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
      if (chunk.gotong?.receipt) receipt = chunk.gotong.receipt;
    } catch {
      // a partial event at the start of the kept tail
    }
  }
  return { ...runOf(started, first, last, tokens), receipt };
}

/**
 * What one durable commit costs on the disk under `dir`: the median of `count` single-row SQLite
 * commits in WAL mode with `synchronous = FULL` (a flush each), as the stores' commits are. The
 * provider and the gateway each wait for one (shared with concurrent requests) before a first token.
 */
function durableCommitMs(dir: string, count = 50): number {
  const db = new Database(join(dir, "bench-flush.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    const insert = db.prepare("INSERT INTO t (v) VALUES ('x')");
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      insert.run();
      times.push(performance.now() - t0);
    }
    return median(times);
  } finally {
    db.close();
  }
}

/**
 * Tokens per second and time to first token: node-llama-cpp called directly, the provider called
 * directly (paid by voucher), and the whole path through the gateway. Same model, same thread count,
 * same greedy prompt, interleaved rounds in one process.
 */
export async function benchThroughput(options: { rounds?: number; maxTokens?: number } = {}) {
  const rounds = options.rounds ?? 21;
  const maxTokens = options.maxTokens ?? 400;
  const prompt = "Once upon a time";
  const net = await startChatNetwork();
  const { model, modelId } = net;
  const children: CliProcess[] = [];
  try {
    // Provider and gateway run as their own processes, as they do when deployed: each has its own
    // event loop, and the provider's token loop does not share one with its clients.
    const providerKey = generatePrivateKey();
    const keyFile = join(net.home.keys, "bench-provider.key");
    writeFileSync(keyFile, providerKey, { mode: 0o600 });
    const providerPort = await freePort();
    const gatewayPort = await freePort();
    const providerProcess = spawnGotong(["provider", "start", "--model", model.path, "--home", net.home.root, "--key", keyFile, "--port", String(providerPort), "--threads", "1", "--parallel", "8"]);
    children.push(providerProcess);
    await providerProcess.waitFor(/serving/);
    const gatewayProcess = spawnGotong(["gateway", "start", "--home", net.home.root, "--port", String(gatewayPort)]);
    children.push(gatewayProcess);
    await gatewayProcess.waitFor(/gateway at/);
    const providerUrl = `http://127.0.0.1:${providerPort}`;
    const providerAddress = privateKeyToAccount(providerKey).address;
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}/v1`;
    // The same gateway with sealing off, to measure what end-to-end encryption costs.
    const clearPort = await freePort();
    const clearKeyFile = join(net.home.keys, "bench-clear-gateway.key");
    writeFileSync(clearKeyFile, generatePrivateKey(), { mode: 0o600 });
    const clearProcess = spawnGotong(["gateway", "start", "--home", net.home.root, "--port", String(clearPort), "--key", clearKeyFile, "--no-seal"]);
    children.push(clearProcess);
    await clearProcess.waitFor(/gateway at/);
    const clearGatewayUrl = `http://127.0.0.1:${clearPort}/v1`;

    // A second paying client for the provider-direct figures, with its own channel.
    const { deployment } = net.devnet;
    const key = generatePrivateKey();
    const account = privateKeyToAccount(key);
    await fundOnDevnet(deployment, account.address, { tokens: 100_000_000n });
    const store = createGatewayStore(join(net.home.root, "bench-client.db"));
    const clients = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account });
    const channels = createChannelManager({ clients, account, deployment, store, logger: quietLogger() });
    let channel = await channels.ensureChannel(providerAddress, modelId, 10_000_000n);

    const llama = await getLlama({ gpu: false, build: "never", logger: () => {} });
    const direct = await llama.loadModel({ modelPath: model.path });
    const context = await direct.createContext({ threads: 1, contextSize: 512 });

    // Usage (the token count) comes only when asked for, as in the OpenAI API.
    const body = JSON.stringify({ model: model.name, prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const runs = { direct: [] as Run[], provider: [] as Run[], gateway: [] as Run[], unsealed: [] as Run[] };
    for (let round = 0; round < rounds + 1; round++) {
      // direct
      const sequence = context.getSequence();
      const completion = new LlamaCompletion({ contextSequence: sequence });
      let first = 0;
      let last = 0;
      let tokens = 0;
      const started = performance.now();
      await completion.generateCompletion(prompt, {
        maxTokens,
        temperature: 0,
        onToken: (t) => (tokens += t.length),
        onTextChunk: () => {
          const now = performance.now();
          if (!first) first = now;
          last = now;
        },
      });
      sequence.dispose();
      const directRun = runOf(started, first, last, tokens);

      // provider, paid directly
      channel = store.getChannel(channel.channelId)!;
      const voucher = await channels.voucherFor(channel);
      const p0 = performance.now();
      const providerRes = await fetch(`${providerUrl}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-gotong-voucher": encodeVoucherHeader(voucher) },
        body,
      });
      const providerRun = await timeStream(providerRes, p0);
      const receipt = receiptFromJson(providerRun.receipt);
      if (receipt) store.addReceipt({ receipt, provider: providerAddress, modelId, modelName: model.name }, channel.epoch);

      // through the gateway, sealed and not; which goes first alternates, so neither always runs
      // right after the provider-direct request (the machine's state then favours one of them)
      const throughGateway = async (url: string) => {
        const t0 = performance.now();
        return timeStream(await fetch(`${url}/completions`, { method: "POST", headers: { "content-type": "application/json" }, body }), t0);
      };
      const sealedFirst = round % 2 === 0;
      const firstRun = await throughGateway(sealedFirst ? gatewayUrl : clearGatewayUrl);
      const secondRun = await throughGateway(sealedFirst ? clearGatewayUrl : gatewayUrl);
      const [gatewayRun, unsealedRun] = sealedFirst ? [firstRun, secondRun] : [secondRun, firstRun];
      if (round === 0) continue; // warm-up
      runs.unsealed.push(unsealedRun);
      runs.direct.push(directRun);
      runs.provider.push(providerRun);
      runs.gateway.push(gatewayRun);
    }
    const summary = (rs: Run[]) => ({ decodeTps: median(rs.map((r) => r.decodeTps)), ttftMs: median(rs.map((r) => r.ttftMs)), tokens: median(rs.map((r) => r.tokens)) });
    const commitMs = durableCommitMs(net.home.root);
    const d = summary(runs.direct);
    const p = summary(runs.provider);
    const g = summary(runs.gateway);
    const u = summary(runs.unsealed);
    await context.dispose();
    await direct.dispose();
    store.close();
    // Each round runs the three back to back, so a ratio within a round shares the machine's state;
    // the median of those paired ratios is steadier than a ratio of medians on a noisy machine.
    const paired = (a: Run[], b: Run[]) => median(a.map((run, i) => run.decodeTps / b[i]!.decodeTps));
    return {
      model: model.name,
      threads: 1,
      maxTokens,
      rounds,
      direct: d,
      provider: p,
      gateway: g,
      providerVsDirectTps: paired(runs.provider, runs.direct),
      gatewayVsDirectTps: paired(runs.gateway, runs.direct),
      ttftAddedByProviderMs: p.ttftMs - d.ttftMs,
      ttftAddedByGatewayMs: g.ttftMs - p.ttftMs,
      /** One durable SQLite commit on this disk (the floor of each layer's wait before a first token). */
      durableCommitMs: commitMs,
      sealed: { gateway: g, unsealedGateway: u, sealedVsUnsealedTps: paired(runs.gateway, runs.unsealed), ttftAddedBySealingMs: g.ttftMs - u.ttftMs },
      goal: "gateway tokens/s at least 0.9 of direct",
    };
  } finally {
    for (const child of children) {
      child.child.kill("SIGTERM");
      await child.exited;
    }
    await net.stop();
  }
}
