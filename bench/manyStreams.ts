/**
 * Many streams through one gateway: N concurrent streamed chat requests (default 1,000) through a
 * `gotong gateway` process of its own, to a provider whose backend is an upstream that paces its
 * tokens (one every 100 ms), so that the gateway is what is measured, not an engine. The gateway
 * runs one channel per stream (`--channels-per-provider N`: each channel carries one request at a
 * time), opened in a warm-up before anything is timed.
 *
 * Every token carries a marker (`#stream.index`), and its moments are recorded on the one wall
 * clock of this machine: emitted by the upstream, written by the provider to the gateway (this
 * process; bench/streamTimings.mjs wraps `ServerResponse.write`), written by the gateway to its
 * client (the same hook preloaded into the gateway process), and read by the client. So:
 *
 * - time inside the gateway, per token: provider's write → gateway's write (unsealed: sealed
 *   tokens are ciphertext on the provider's side);
 * - time through the network, per token: upstream emission → client read, unsealed and sealed;
 * - the gateway process's CPU per token (/proc: user + system time over the run ÷ tokens) and its
 *   resident memory per open stream (RSS at the peak of the run − RSS before it, ÷ N);
 * - errors: any stream that did not end with every token and a cost.
 *
 * Each figure has its baseline in the same run: 1 stream alone through the same gateway. Sealed ÷
 * unsealed compares the delivered tokens per second and the time through the network at N streams.
 *
 *   npx tsx bench/manyStreams.ts [--streams 1000]     (GOTONG_STREAMS also sets it)
 *   GOTONG_BENCH_CPU_PROFILE=DIR …                      also writes the gateway's CPU profile to DIR
 */
import "./streamTimings.mjs";
import { readFileSync, writeFileSync } from "node:fs";
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { generatePrivateKey } from "viem/accounts";
import { createUpstreamBackend } from "../src/provider/createUpstreamBackend.ts";
import { gotongBin, spawnNode, type CliProcess } from "../test/helpers/cli.ts";
import { startChatNetwork, type ChatNetwork } from "../test/helpers/network.ts";
import { freePort } from "../test/helpers/ports.ts";
import { tempHome } from "../test/helpers/tempHome.ts";
import { quantile } from "./median.ts";

export type ManyStreamsOptions = { streams?: number; tokens?: number; intervalMs?: number };

const hook = resolve(import.meta.dirname, "streamTimings.mjs");
const now = () => performance.timeOrigin + performance.now();
const inBench = (globalThis as { __gotongStreamTimings?: Map<string, number> }).__gotongStreamTimings!;

/** The paced upstream: `tokens` chunks per request, one every `intervalMs`, each marked `#S.I` (S from the prompt). */
async function startPacedUpstream(intervalMs: number) {
  const emitted = new Map<string, number>();
  const arrived = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", async () => {
      const request = JSON.parse(body) as { max_tokens?: number; messages?: { content: string }[] };
      const stream = /stream (\d+)/.exec(request.messages?.at(-1)?.content ?? "")?.[1] ?? "0";
      arrived.set(stream, now());
      const n = request.max_tokens ?? 16;
      res.writeHead(200, { "content-type": "text/event-stream" });
      let closed = false;
      res.on("close", () => (closed = true));
      for (let i = 0; i < n && !closed; i++) {
        await new Promise((r) => setTimeout(r, intervalMs));
        emitted.set(`${stream}.${i}`, now());
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: ` #${stream}.${i}` }, finish_reason: null }] })}\n\n`);
      }
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "length" }], usage: { prompt_tokens: 1, completion_tokens: n } })}\n\n`);
      res.end("data: [DONE]\n\n");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, emitted, arrived, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

type StreamResult = { stream: number; status: number; tokens: number; cost: boolean; error?: string; read: Map<number, number>; sentAt: number };

/** One streamed chat request through the gateway, reading its events as a lean client does. */
function streamOnce(agent: Agent, port: number, model: string, stream: number, tokens: number): Promise<StreamResult> {
  const body = JSON.stringify({ model, stream: true, max_tokens: tokens, messages: [{ role: "user", content: `stream ${stream}` }] });
  return new Promise((resolveResult) => {
    const result: StreamResult = { stream, status: 0, tokens: 0, cost: false, read: new Map(), sentAt: now() };
    const req = httpRequest({ host: "127.0.0.1", port, path: "/v1/chat/completions", method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      result.status = res.statusCode ?? 0;
      let tail = "";
      res.setEncoding("utf8");
      res.on("data", (text: string) => {
        const at = now();
        for (const m of text.matchAll(/#(\d+)\.(\d+)/g)) if (Number(m[1]) === stream && !result.read.has(Number(m[2]))) result.read.set(Number(m[2]), at);
        tail = (tail + text).slice(-4096);
      });
      res.on("end", () => {
        result.tokens = result.read.size;
        result.cost = /"cost":"?\d+/.test(tail);
        if (/"error"/.test(tail)) result.error = tail.slice(tail.indexOf('"error"'), tail.indexOf('"error"') + 800);
        resolveResult(result);
      });
      res.on("error", (e) => resolveResult({ ...result, error: String(e) }));
    });
    req.on("error", (e) => resolveResult({ ...result, error: String(e) }));
    req.end(body);
  });
}

/** user + system CPU seconds and resident bytes of a process, from /proc. */
function procStats(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = 100; // USER_HZ on Linux
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
  return { cpuSeconds: (Number(stat[11]) + Number(stat[12])) / ticks, rss };
}

const spread = (xs: number[]) => (xs.length ? { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), n: xs.length } : { p50: null, p99: null, n: 0 });

/** One gateway process (sealed or not) with N channels to the provider, timed at 1 and at N streams. */
async function runGateway(net: ChatNetwork, providerPort: number, upstream: Awaited<ReturnType<typeof startPacedUpstream>>, options: { sealed: boolean; streams: number; tokens: number; intervalMs: number; firstStream: number }) {
  const home = tempHome();
  const port = await freePort();
  const timings = join(home.root, "stream-timings.json");
  const keyFile = join(home.root, "gateway.key");
  writeFileSync(keyFile, generatePrivateKey(), { mode: 0o600 });
  const args = [gotongBin, "gateway", "start", "--deployment", net.home.deployment, "--key", keyFile, "--port", String(port), "--channels-per-provider", String(options.streams), "--deposit", "0.05", ...(options.sealed ? [] : ["--no-seal"])];
  const gateway: CliProcess = spawnNode(["--import", hook, ...(process.env.GOTONG_BENCH_CPU_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.GOTONG_BENCH_CPU_PROFILE}`] : []), ...args], { GOTONG_HOME: home.root, GOTONG_STREAM_PORTS: String(port), GOTONG_STREAM_TIMINGS: timings });
  // No kept-alive sockets: one the gateway closed while idle (its keepAliveTimeout is 5 s) and the
  // client reused at that moment would count as a gateway error.
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    await gateway.waitFor(/gateway at http/, 120_000);
    const pid = gateway.child.pid!;
    let stream = options.firstStream;
    const label = options.sealed ? "sealed" : "unsealed";

    // Warm-up: N at once opens the N channels (one after another: approve + open each).
    process.stderr.write(`many streams (${label}): opening ${options.streams} channels…\n`);
    const warm = Date.now();
    let warmUp = await Promise.all(Array.from({ length: options.streams }, () => streamOnce(agent, port, net.model.name, stream++, 2)));
    // A channel whose opening timed out on a busy devnet is opened by the next request: up to two
    // more tries for those, so a slow chain does not end the run before anything is measured.
    for (let retry = 0; retry < 2 && warmUp.some((r) => r.status !== 200 || r.error); retry++) {
      const failed = warmUp.filter((r) => r.status !== 200 || r.error).length;
      process.stderr.write(`many streams (${label}): ${failed} warm-up streams failed, trying them again\n`);
      warmUp = [...warmUp.filter((r) => r.status === 200 && !r.error), ...(await Promise.all(Array.from({ length: failed }, () => streamOnce(agent, port, net.model.name, stream++, 2))))];
    }
    const warmErrors = warmUp.filter((r) => r.status !== 200 || r.error);
    if (warmErrors.length) throw new Error(`warm-up: ${warmErrors.length} of ${options.streams} streams failed, e.g. ${JSON.stringify({ ...warmErrors[0], read: undefined })}`);
    process.stderr.write(`many streams (${label}): channels open in ${((Date.now() - warm) / 1000).toFixed(0)} s\n`);

    const measure = async (count: number) => {
      const first = stream;
      stream += count;
      const before = procStats(pid);
      let peakRss = before.rss;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, procStats(pid).rss)), 50);
      const benchCpu = process.cpuUsage();
      const loopDelay = monitorEventLoopDelay({ resolution: 5 });
      loopDelay.enable();
      const started = now();
      const results = await Promise.all(Array.from({ length: count }, (_, i) => streamOnce(agent, port, net.model.name, first + i, options.tokens)));
      const seconds = (now() - started) / 1000;
      const benchBusy = process.cpuUsage(benchCpu);
      loopDelay.disable();
      clearInterval(sampler);
      const after = procStats(pid);
      const failed = results.filter((r) => r.status !== 200 || r.error || r.tokens !== options.tokens || !r.cost);
      const delivered = results.reduce((sum, r) => sum + r.tokens, 0);
      const network: number[] = [];
      for (const r of results) for (const [i, at] of r.read) network.push(at - upstream.emitted.get(`${r.stream}.${i}`)!);
      // Request sent → its first token read, less the upstream's pace before that token (one interval).
      const firstToken = results.filter((r) => r.read.has(0)).map((r) => r.read.get(0)! - r.sentAt - options.intervalMs);
      // Request sent → the upstream has it: what the gateway and the provider take before the engine starts.
      const toUpstream = results.filter((r) => upstream.arrived.has(String(r.stream))).map((r) => upstream.arrived.get(String(r.stream))! - r.sentAt);
      return {
        streams: count,
        errors: failed.length,
        errorSample: failed[0] ? { status: failed[0].status, tokens: failed[0].tokens, cost: failed[0].cost, error: failed[0].error } : null,
        tokens: delivered,
        seconds,
        tokensPerSecond: delivered / seconds,
        networkMs: spread(network),
        firstTokenAddedMs: spread(firstToken),
        sentToUpstreamMs: spread(toUpstream),
        gatewayCpuMicrosPerToken: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / Math.max(1, delivered),
        // Share of one core each process was busy over the run: which of them held the pace back.
        gatewayCpuShare: (after.cpuSeconds - before.cpuSeconds) / seconds,
        benchCpuShare: (benchBusy.user + benchBusy.system) / 1e6 / seconds,
        // The longest the bench process's event loop (client, provider, upstream) was held up.
        benchLoopDelayMaxMs: loopDelay.max / 1e6,
        rssBeforeMiB: before.rss / 2 ** 20,
        rssPeakMiB: peakRss / 2 ** 20,
        rssPerStreamKiB: (peakRss - before.rss) / 1024 / count,
        range: [first, first + count] as const,
      };
    };
    const single = await measure(1);
    const many = await measure(options.streams);

    process.kill(pid, "SIGTERM");
    await Promise.race([gateway.exited, new Promise((r) => setTimeout(r, 60_000))]);
    const written = JSON.parse(readFileSync(timings, "utf8")) as Record<string, number>;
    /** Provider write → gateway write of each token of the streams in `range` (unsealed only). */
    const inside = ([from, to]: readonly [number, number]) => {
      const xs: number[] = [];
      for (let s = from; s < to; s++) {
        for (let i = 0; i < options.tokens; i++) {
          const p = inBench.get(`${s}.${i}`);
          const g = written[`${s}.${i}`];
          if (p !== undefined && g !== undefined) xs.push(g - p);
        }
      }
      return spread(xs);
    };
    return {
      sealed: options.sealed,
      single: { ...single, insideGatewayMs: options.sealed ? null : inside(single.range) },
      many: { ...many, insideGatewayMs: options.sealed ? null : inside(many.range) },
    };
  } finally {
    agent.destroy();
    if (gateway.child.exitCode === null) gateway.child.kill("SIGKILL");
    home.cleanup();
  }
}

/** Runs the bench; see the file's summary. */
export async function benchManyStreams(options: ManyStreamsOptions = {}) {
  const streams = options.streams ?? 1000;
  const tokens = options.tokens ?? 20;
  const intervalMs = options.intervalMs ?? 100;
  const net = await startChatNetwork();
  const upstream = await startPacedUpstream(intervalMs);
  try {
    const providerPort = await freePort();
    process.env.GOTONG_STREAM_PORTS = String(providerPort); // the hook in this process watches the provider's writes
    await net.provider(net.model.path, { port: providerPort, parallel: streams + 8, backend: createUpstreamBackend({ baseUrl: upstream.url, model: net.model.name }) });
    const unsealed = await runGateway(net, providerPort, upstream, { sealed: false, streams, tokens, intervalMs, firstStream: 0 });
    const sealed = await runGateway(net, providerPort, upstream, { sealed: true, streams, tokens, intervalMs, firstStream: 1_000_000 });
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      streams,
      tokensPerStream: tokens,
      intervalMs,
      unsealed,
      sealed,
      sealedOverUnsealed: {
        tokensPerSecond: sealed.many.tokensPerSecond / unsealed.many.tokensPerSecond,
        networkP50: (sealed.many.networkMs.p50 ?? NaN) / (unsealed.many.networkMs.p50 ?? NaN),
      },
    };
    writeFileSync(resolve(import.meta.dirname, "results", "many-streams.json"), JSON.stringify(result, null, 2) + "\n");
    return result;
  } finally {
    await upstream.close();
    await net.stop();
  }
}

const pct = (share: number | undefined) => (share === undefined ? "–" : `${Math.round(share * 100)}%`);
const ms = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${v.toFixed(v < 10 ? 2 : 1)} ms`);

/** The README table of a run. */
export function renderManyStreamsTable(r: Awaited<ReturnType<typeof benchManyStreams>>): string {
  const row = (name: string, x: (typeof r.unsealed)["many"]) =>
    `| ${name} | ${x.streams} | ${x.errors} | ${ms(x.insideGatewayMs?.p50)} / ${ms(x.insideGatewayMs?.p99)} | ${ms(x.networkMs.p50)} / ${ms(x.networkMs.p99)} | ${ms(x.firstTokenAddedMs.p50)} / ${ms(x.firstTokenAddedMs.p99)} | ${x.tokensPerSecond.toFixed(0)} | ${x.gatewayCpuMicrosPerToken.toFixed(0)} µs | ${pct(x.gatewayCpuShare)} / ${pct(x.benchCpuShare)} | ${x.rssPeakMiB.toFixed(0)} MiB (${x.rssPerStreamKiB.toFixed(0)} KiB per stream) |`;
  return [
    `_Last run: ${r.date} on ${r.node}. Streamed chat requests through one \`gotong gateway\` process (its own, with one channel per stream: \`--channels-per-provider ${r.streams}\`, opened before timing) to one provider whose backend is an upstream pacing ${r.tokensPerStream} tokens at one per ${r.intervalMs} ms; baseline: 1 stream alone through the same gateway in the same run. Times per token, p50 / p99._`,
    "",
    "| path | streams at once | errors | inside the gateway (provider's write → gateway's write) | upstream emission → client read | time to first token added (sent → first read, less the pace) | tokens/s delivered | gateway CPU per token | one core busy: gateway / bench process (client, provider, upstream) | gateway RSS at peak |",
    "|---|---|---|---|---|---|---|---|---|---|",
    row("unsealed, baseline", r.unsealed.single),
    row("unsealed", r.unsealed.many),
    row("sealed (HPKE per stream, a sealed frame per token), baseline", r.sealed.single),
    row("sealed", r.sealed.many),
    "",
    `Sealed ÷ unsealed at ${r.streams} streams: tokens/s **${r.sealedOverUnsealed.tokensPerSecond.toFixed(2)}** (goal ≥ 0.97${r.sealedOverUnsealed.tokensPerSecond < 0.97 ? ": below goal" : ""}); errors ${r.unsealed.many.errors + r.sealed.many.errors} (goal 0); time through the network, p50 sealed ÷ unsealed ${r.sealedOverUnsealed.networkP50.toFixed(2)}.`,
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { streams: { type: "string" } } });
  const streams = Number(values.streams ?? process.env.GOTONG_STREAMS ?? 1000);
  const result = await benchManyStreams({ streams });
  process.stdout.write(renderManyStreamsTable(result) + "\n");
}
