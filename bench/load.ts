/**
 * Load through a whole local network, started the way `gotong up` starts it (one `gotong up`
 * process: chain, contracts, a published model, a provider, a gateway), with a client in this
 * process firing N chat requests, C at a time, half streamed and half not, through the gateway's
 * OpenAI API. It reports throughput (requests/s and output tokens/s, against the same requests one
 * at a time measured first in the same run), p50/p99 latency of served requests, refusals by kind
 * (status and code, and whether Retry-After came with them) and their p99 latency, errors, and the
 * money identity, each side as an exact bigint (overload, a burst of requests all at once, is
 * bench/burst.ts's, with its client in a process of its own and the gateway's own timings):
 *
 *   costs told to the clients (x-gotong-cost, or a stream's final gotong.cost)
 *     = the gateway's spent (its store) = the provider's owed (its store)
 *     = redeemed on-chain after the provider redeems (PaymentChannels.getChannel)
 *     = royalty + protocol fee + provider share (the VoucherRedeemed events)
 *
 * Any difference prints a MISMATCH line and the process exits non-zero (the data folder is kept for
 * inspection with `gotong channel list --home DIR`). It never retries or corrects anything itself:
 * a mismatch is what it is there to show.
 *
 * Bounded in count and in time: it sends at most N requests, stops sending after GOTONG_LOAD_SECONDS,
 * gives each request at most GOTONG_LOAD_REQUEST_TIMEOUT_MS, and exits on its own past a hard limit.
 *
 *   npx tsx bench/load.ts [--requests 1000] [--concurrency 50] [--seconds 300] [--max-tokens 16] [--baseline 50]
 *   GOTONG_LOAD_REQUESTS=60 GOTONG_LOAD_CONCURRENCY=10 npx tsx bench/load.ts
 *   npm run bench                   includes it in bench/results/latest.json and the README
 */
import { realpathSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Address, Hex } from "viem";
import { PaymentChannelsArtifact } from "../src/chain/contracts.generated.ts";
import { createReader } from "../src/chain/createClients.ts";
import { startDevnet } from "../src/chain/startDevnet.ts";
import { bigintAsString } from "../src/common/bigintJson.ts";
import { createGatewayStore } from "../src/gateway/createGatewayStore.ts";
import type { UpInfo } from "../src/network/startLocalNetwork.ts";
import { readChannel } from "../src/payments/readChannel.ts";
import { createProviderStore } from "../src/provider/createProviderStore.ts";
import { chatModel } from "../test/helpers/chatModel.ts";
import { runGotong, spawnGotong, type CliProcess } from "../test/helpers/cli.ts";
import { freePort } from "../test/helpers/ports.ts";
import { readCost } from "../test/helpers/readCost.ts";
import { tempHome } from "../test/helpers/tempHome.ts";
import { fillReadme } from "./fillReadme.ts";
import { quantile } from "./median.ts";

/** How big a load, and its bounds. */
export type LoadOptions = {
  /** Requests under load. Default 1,000 (GOTONG_LOAD_REQUESTS). */
  requests?: number;
  /** Requests in flight at once. Default 50 (GOTONG_LOAD_CONCURRENCY). */
  concurrency?: number;
  /** No new request starts after this many seconds of load. Default 300 (GOTONG_LOAD_SECONDS). */
  seconds?: number;
  /** max_tokens of every request. Default 16 (GOTONG_LOAD_MAX_TOKENS). */
  maxTokens?: number;
  /** Requests sent one at a time first, the baseline of the throughput ratio. Default 50, at most N (GOTONG_LOAD_BASELINE). */
  baseline?: number;
  /** Longest one request may take before the client gives up on it. Default 60 s (GOTONG_LOAD_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number;
};

/** What happened to one request, as its client saw it. */
type Outcome = {
  kind: "served" | "refused" | "error";
  /** `200`, `429 too_many_requests`, `stream provider_stream_cut`, `fetch TimeoutError`… */
  label: string;
  ms: number;
  stream: boolean;
  /** The cost the client was told, when it was told one (a refusal or an error may still carry none). */
  cost: bigint | undefined;
  outputTokens: number;
  retryAfter: boolean;
};

const prompts = ["Once upon a time", "The little dog", "Lily and Tom went to the park", "One day, a bird", "Tell me a story", "The sun was"];

/** Sends one chat request through the gateway and reads its answer to the end. */
async function send(baseUrl: string, model: string, i: number, maxTokens: number, timeoutMs: number): Promise<Outcome> {
  const stream = i % 2 === 1;
  const started = performance.now();
  const ms = () => performance.now() - started;
  try {
    const res = await fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: `${prompts[i % prompts.length]} (${i})` }], max_tokens: maxTokens, stream }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status !== 200) {
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
      const header = res.headers.get("x-gotong-cost");
      return { kind: "refused", label: `${res.status} ${body.error?.code ?? "?"}`, ms: ms(), stream, cost: header === null ? undefined : BigInt(header), outputTokens: 0, retryAfter: res.headers.has("retry-after") };
    }
    const told = await readCost(res);
    if (told.streamError !== undefined) return { kind: "error", label: `stream ${told.streamError}`, ms: ms(), stream, cost: told.cost, outputTokens: told.outputTokens, retryAfter: false };
    if (told.cost === undefined) return { kind: "error", label: "200 without a cost", ms: ms(), stream, cost: undefined, outputTokens: told.outputTokens, retryAfter: false };
    return { kind: "served", label: "200", ms: ms(), stream, cost: told.cost, outputTokens: told.outputTokens, retryAfter: false };
  } catch (error) {
    return { kind: "error", label: `fetch ${(error as Error).name}: ${(error as Error).message}`.slice(0, 120), ms: ms(), stream, cost: undefined, outputTokens: 0, retryAfter: false };
  }
}

/** Sends `count` requests, `concurrency` at a time, starting none after `deadline` (performance.now()). */
async function fire(baseUrl: string, model: string, first: number, count: number, concurrency: number, deadline: number, options: Required<LoadOptions>) {
  const outcomes: Outcome[] = [];
  let next = 0;
  let stoppedByTime = false;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      if (performance.now() > deadline) {
        stoppedByTime = true;
        return;
      }
      const i = first + next++;
      outcomes.push(await send(baseUrl, model, i, options.maxTokens, options.requestTimeoutMs));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { outcomes, seconds: (performance.now() - started) / 1000, stoppedByTime };
}

/** Counts of each label, most frequent first. */
const tally = (outcomes: Outcome[]) =>
  Object.fromEntries(
    [...outcomes.reduce((m, o) => m.set(o.label, (m.get(o.label) ?? 0) + 1), new Map<string, number>())].sort((a, b) => b[1] - a[1]),
  );

/** Throughput and latency of one phase. */
function summarize(phase: Awaited<ReturnType<typeof fire>>) {
  const served = phase.outcomes.filter((o) => o.kind === "served");
  const refused = phase.outcomes.filter((o) => o.kind === "refused");
  const errors = phase.outcomes.filter((o) => o.kind === "error");
  const outputTokens = served.reduce((a, o) => a + o.outputTokens, 0);
  const p = (xs: Outcome[], q: number) => (xs.length ? quantile(xs.map((o) => o.ms), q) : null);
  return {
    sent: phase.outcomes.length,
    seconds: phase.seconds,
    stoppedByTime: phase.stoppedByTime,
    served: served.length,
    streamed: served.filter((o) => o.stream).length,
    requestsPerSecond: served.length / phase.seconds,
    outputTokensPerSecond: outputTokens / phase.seconds,
    outputTokens,
    latencyMs: { p50: p(served, 0.5), p99: p(served, 0.99) },
    refusals: { count: refused.length, kinds: tally(refused), withRetryAfter: refused.filter((o) => o.retryAfter).length, p50Ms: p(refused, 0.5), p99Ms: p(refused, 0.99) },
    errors: { count: errors.length, kinds: tally(errors) },
  };
}

/** The money identity's sides, each an exact sum in base units. */
export type MoneyIdentity = {
  toldToClients: bigint;
  gatewaySpent: bigint;
  providerOwed: bigint;
  redeemedOnchain: bigint;
  /** Σ amount over the VoucherRedeemed events. */
  redeemedInEvents: bigint;
  royalty: bigint;
  protocolFee: bigint;
  providerShare: bigint;
  /** royalty + protocolFee + providerShare */
  split: bigint;
  channels: number;
  holds: boolean;
  /** One line per side that differs from the costs told to the clients. */
  mismatches: string[];
};

/** Compares every side of the identity with the costs the clients were told. */
function checkIdentity(sides: Omit<MoneyIdentity, "holds" | "mismatches" | "split">): MoneyIdentity {
  const split = sides.royalty + sides.protocolFee + sides.providerShare;
  const named: [string, bigint][] = [
    ["gateway spent", sides.gatewaySpent],
    ["provider owed", sides.providerOwed],
    ["redeemed on-chain", sides.redeemedOnchain],
    ["redeemed in VoucherRedeemed events", sides.redeemedInEvents],
    ["royalty + protocol fee + provider share", split],
  ];
  const mismatches = named
    .filter(([, v]) => v !== sides.toldToClients)
    .map(([name, v]) => `${name} ${v} ≠ told to clients ${sides.toldToClients} (${v > sides.toldToClients ? "+" : ""}${v - sides.toldToClients})`);
  return { ...sides, split, holds: mismatches.length === 0, mismatches };
}

/** Reads every side of the identity once the network has stopped: both stores, then the chain. */
export async function readIdentity(home: ReturnType<typeof tempHome>, info: UpInfo, chainPort: number, told: bigint) {
  // The provider redeems what the gateway settled on its way out; redeem once more by hand, as an
  // operator would, so anything that shutdown missed is on-chain too.
  const devnet = await startDevnet({ home, port: chainPort });
  try {
    const redeem = await runGotong(["provider", "redeem", "--home", home.root, "--json"]);
    const extraRedeem = redeem.code === 0 ? (JSON.parse(redeem.stdout) as { amount: string }).amount : `failed: ${redeem.stderr.trim()}`;
    const gatewayStore = createGatewayStore(join(home.gateway, `gateway-${info.account.address.toLowerCase()}.db`));
    const providerStore = createProviderStore(join(home.provider, `provider-${info.provider.address.toLowerCase()}.db`));
    const client = createReader(devnet.deployment);
    const { deployment } = devnet;
    try {
      const channels = gatewayStore.listChannels();
      let gatewaySpent = 0n;
      let providerOwed = 0n;
      let redeemedOnchain = 0n;
      for (const c of channels) {
        gatewaySpent += c.spent;
        providerOwed += providerStore.getChannel(c.channelId, c.epoch).owed;
        const onchain = await readChannel(client, deployment.paymentChannels, c.channelId);
        // Each channel stays in its first epoch here (nobody closes one), so getChannel is that epoch.
        redeemedOnchain += onchain.epoch === c.epoch ? onchain.redeemed : 0n;
      }
      const events = await client.getContractEvents({
        address: deployment.paymentChannels,
        abi: PaymentChannelsArtifact.abi,
        eventName: "VoucherRedeemed",
        args: { provider: info.provider.address as Address },
        fromBlock: BigInt(deployment.startBlock),
        toBlock: "latest",
      });
      const sum = (key: "amount" | "royalty" | "fee" | "providerShare") => events.reduce((a, e) => a + (e.args[key] ?? 0n), 0n);
      const identity = checkIdentity({
        toldToClients: told,
        gatewaySpent,
        providerOwed,
        redeemedOnchain,
        redeemedInEvents: sum("amount"),
        royalty: sum("royalty"),
        protocolFee: sum("fee"),
        providerShare: sum("providerShare"),
        channels: channels.length,
      });
      return { identity, redeemTransactions: new Set(events.map((e) => e.transactionHash as Hex)).size, extraRedeem };
    } finally {
      gatewayStore.close();
      providerStore.close();
    }
  } finally {
    await devnet.stop();
  }
}

/** Runs the load and checks the money identity; see the file's summary. */
export async function benchLoad(options: LoadOptions = {}) {
  const o: Required<LoadOptions> = {
    requests: options.requests ?? 1_000,
    concurrency: options.concurrency ?? 50,
    seconds: options.seconds ?? 300,
    maxTokens: options.maxTokens ?? 16,
    baseline: Math.min(options.baseline ?? 50, options.requests ?? 1_000),
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
  };
  const home = tempHome();
  let keep = false;
  let up: CliProcess | undefined;
  // Past this, something hangs: say so and leave, rather than hold `npm run bench` forever.
  const hardLimit = setTimeout(() => {
    console.error(`load bench: still running after ${o.seconds * 2 + 300} s; stopping (data folder kept in ${home.root})`);
    if (up?.child.pid && up.child.exitCode === null) process.kill(-up.child.pid, "SIGKILL");
    process.exit(2);
  }, (o.seconds * 2 + 300) * 1000);
  hardLimit.unref();
  try {
    const model = await chatModel(home.models);
    const [chainPort, providerPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
    up = spawnGotong(
      ["up", "--home", home.root, "--model", model.path, "--threads", "1", "--chain-port", String(chainPort), "--provider-port", String(providerPort), "--gateway-port", String(gatewayPort)],
      {},
      { ownGroup: true },
    );
    await up.waitFor(/Gotong is up/, 180_000);
    const info = JSON.parse(readFileSync(home.upFile, "utf8")) as UpInfo;
    const name = info.model.name;

    // One at a time first (it also opens the channel), then the load, in the same run.
    const warmup = await fire(info.baseUrl, name, 0, 2, 1, Infinity, o);
    const sequential = await fire(info.baseUrl, name, 2, o.baseline, 1, Infinity, o);
    const loaded = await fire(info.baseUrl, name, 2 + o.baseline, o.requests, o.concurrency, performance.now() + o.seconds * 1000, o);
    const all = [...warmup.outcomes, ...sequential.outcomes, ...loaded.outcomes];
    const told = all.reduce((a, x) => a + (x.cost ?? 0n), 0n);
    const untold = all.filter((x) => x.kind !== "served" && x.cost === undefined).length;

    // Ctrl-C, as a user stops `gotong up`: the gateway settles its last requests, the provider redeems.
    process.kill(-up.child.pid!, "SIGINT");
    const code = await Promise.race([up.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 120_000))]);
    if (code === "timeout") process.kill(-up.child.pid!, "SIGKILL");
    const logged = (up.stdout() + up.stderr()).split("\n");
    const { identity, redeemTransactions, extraRedeem } = await readIdentity(home, info, chainPort, told);
    keep = !identity.holds || process.env.GOTONG_LOAD_KEEP === "1";

    const s = summarize(sequential);
    const l = summarize(loaded);
    return {
      date: new Date().toISOString(),
      node: process.version,
      model: name,
      realModel: model.real,
      threads: 1,
      maxTokens: o.maxTokens,
      requests: o.requests,
      concurrency: o.concurrency,
      secondsLimit: o.seconds,
      mix: "chat completions, every second one streamed",
      sequential: s,
      loaded: l,
      loadedVsSequentialRps: s.requestsPerSecond > 0 ? l.requestsPerSecond / s.requestsPerSecond : null,
      requestsWithoutToldCost: untold,
      upExit: code,
      upLoggedErrors: logged.filter((line) => /\berror\b/.test(line)).length,
      upLoggedWarnings: logged.filter((line) => /\bwarn\b/.test(line)).length,
      /** The first few of those lines (logs hold no prompt or completion, by design). */
      upLogSample: logged.filter((line) => /\b(warn|error)\b/.test(line)).slice(0, 5),
      redeemTransactions,
      redeemedByHandAfterShutdown: extraRedeem,
      identity,
      dataFolder: keep ? home.root : undefined,
    };
  } finally {
    clearTimeout(hardLimit);
    if (up?.child.pid && up.child.exitCode === null && up.child.signalCode === null) {
      process.kill(-up.child.pid, "SIGKILL");
      await up.exited;
    }
    if (!keep) home.cleanup();
  }
}

export type LoadResults = Awaited<ReturnType<typeof benchLoad>>;

const f0 = (v: number | null) => (v === null ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: 0 }));
const f1 = (v: number | null) => (v === null ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 }));
const kinds = (k: Record<string, number>) => Object.entries(k).map(([label, n]) => `${n} × ${label}`).join(", ") || "none";

/** The money identity as lines: every side, then MISMATCH lines or the one line that says it holds. */
export function renderIdentity(id: MoneyIdentity): string[] {
  const rows: [string, bigint][] = [
    ["told to clients (x-gotong-cost / gotong.cost)", id.toldToClients],
    ["gateway spent (its store)", id.gatewaySpent],
    ["provider owed (its store)", id.providerOwed],
    ["redeemed on-chain (getChannel)", id.redeemedOnchain],
    ["redeemed in VoucherRedeemed events", id.redeemedInEvents],
    [`royalty + protocol fee + provider share (${id.royalty} + ${id.protocolFee} + ${id.providerShare})`, id.split],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    `money identity over ${id.channels} channel(s), base units:`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    ...(id.holds ? [`identity holds: every side is ${id.toldToClients}`] : id.mismatches.map((m) => `MISMATCH: ${m}`)),
  ];
}

/** The README's load table (between the load-bench markers). */
export function renderLoadTable(r: LoadResults): string {
  const l = r.loaded;
  const s = r.sequential;
  const id = r.identity;
  const lines = [
    `_Last run: ${r.date} on ${r.node}. ${l.sent.toLocaleString("en-US")} chat requests (every second one streamed, max_tokens ${r.maxTokens}), ${r.concurrency} at a time, through \`gotong up\` (${r.model}, ${r.threads} thread, one provider), refused ones not retried; baseline: ${s.sent} of the same requests one at a time, in the same run._`,
    "",
    "| what | under load | one at a time (same run) | ratio |",
    "|---|---|---|---|",
    `| served requests/s | ${f1(l.requestsPerSecond)} | ${f1(s.requestsPerSecond)} | **${r.loadedVsSequentialRps === null ? "–" : r.loadedVsSequentialRps.toFixed(2)}** |`,
    `| output tokens/s | ${f0(l.outputTokensPerSecond)} | ${f0(s.outputTokensPerSecond)} | |`,
    `| latency of served requests, p50 / p99 | ${f0(l.latencyMs.p50)} / ${f0(l.latencyMs.p99)} ms | ${f0(s.latencyMs.p50)} / ${f0(s.latencyMs.p99)} ms | |`,
    `| served / refused / errors | ${l.served} / ${l.refusals.count} / ${l.errors.count} | ${s.served} / ${s.refusals.count} / ${s.errors.count} | |`,
    `| refusals (p99 ${f0(l.refusals.p99Ms)} ms, ${l.refusals.withRetryAfter} with Retry-After) | ${kinds(l.refusals.kinds)} | | |`,
    `| errors | ${kinds(l.errors.kinds)} | | |`,
    "",
    `Money identity, in base units over the whole run: told to clients ${id.toldToClients}, gateway spent ${id.gatewaySpent}, provider owed ${id.providerOwed}, redeemed on-chain ${id.redeemedOnchain}, royalty + fee + provider share ${id.royalty} + ${id.protocolFee} + ${id.providerShare} = ${id.split}: ${id.holds ? "**holds**" : `**MISMATCH** (${id.mismatches.join("; ")})`}.`,
  ];
  return lines.join("\n");
}

/** Prints a run's figures for a terminal. */
export function printLoad(r: LoadResults): void {
  for (const [name, p] of [["one at a time", r.sequential], ["under load", r.loaded]] as const) {
    console.log(`${name}: ${p.sent} sent in ${p.seconds.toFixed(1)} s${p.stoppedByTime ? " (stopped by the time limit)" : ""}; ${p.served} served (${p.streamed} streamed), ${p.refusals.count} refused, ${p.errors.count} errors`);
    console.log(`  throughput ${f1(p.requestsPerSecond)} requests/s, ${f0(p.outputTokensPerSecond)} output tokens/s; latency p50 ${f0(p.latencyMs.p50)} ms, p99 ${f0(p.latencyMs.p99)} ms`);
    if (p.refusals.count) console.log(`  refusals: ${kinds(p.refusals.kinds)}; ${p.refusals.withRetryAfter} with Retry-After; p99 ${f0(p.refusals.p99Ms)} ms`);
    if (p.errors.count) console.log(`  errors: ${kinds(p.errors.kinds)}`);
  }
  console.log(`ratio of served requests/s, under load vs one at a time: ${r.loadedVsSequentialRps === null ? "–" : r.loadedVsSequentialRps.toFixed(2)}`);
  if (r.requestsWithoutToldCost) console.log(`${r.requestsWithoutToldCost} request(s) ended without the client being told a cost (refused, cut or failed)`);
  console.log(`gotong up exited ${r.upExit}; it logged ${r.upLoggedErrors} error and ${r.upLoggedWarnings} warning line(s); ${r.redeemTransactions} redeem transaction(s); redeemed by hand after shutdown: ${r.redeemedByHandAfterShutdown}`);
  for (const line of r.upLogSample) console.log(`  | ${line}`);
  for (const line of renderIdentity(r.identity)) console.log(line);
  if (r.dataFolder) console.log(`data folder kept for inspection: ${r.dataFolder}  (npx gotong channel list --home ${r.dataFolder}, after npx gotong devnet --home ${r.dataFolder})`);
}

/** Options from argv (`--requests N`…) over env (`GOTONG_LOAD_REQUESTS`…) over defaults. */
export function loadOptionsFrom(argv: string[], env: NodeJS.ProcessEnv): LoadOptions {
  const { values } = parseArgs({
    args: argv,
    options: { requests: { type: "string" }, concurrency: { type: "string" }, seconds: { type: "string" }, "max-tokens": { type: "string" }, baseline: { type: "string" }, "request-timeout-ms": { type: "string" } },
    strict: true,
  });
  const pick = (flag: string | undefined, name: string, variable: string) => {
    const text = flag ?? env[variable];
    if (text === undefined || text === "") return undefined;
    if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`${name} must be a positive integer, not "${text}"`);
    return Number(text);
  };
  return {
    requests: pick(values.requests, "--requests", "GOTONG_LOAD_REQUESTS"),
    concurrency: pick(values.concurrency, "--concurrency", "GOTONG_LOAD_CONCURRENCY"),
    seconds: pick(values.seconds, "--seconds", "GOTONG_LOAD_SECONDS"),
    maxTokens: pick(values["max-tokens"], "--max-tokens", "GOTONG_LOAD_MAX_TOKENS"),
    baseline: pick(values.baseline, "--baseline", "GOTONG_LOAD_BASELINE"),
    requestTimeoutMs: pick(values["request-timeout-ms"], "--request-timeout-ms", "GOTONG_LOAD_REQUEST_TIMEOUT_MS"),
  };
}

/** Run directly: measure, write bench/results/load.json and the README's load table; exit 1 on a mismatch. */
if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) {
  const results = await benchLoad(loadOptionsFrom(process.argv.slice(2), process.env));
  const json = JSON.stringify(results, bigintAsString, 2);
  writeFileSync(join(import.meta.dirname, "results", "load.json"), json + "\n");
  fillReadme("load-bench", renderLoadTable(results));
  printLoad(results);
  process.exit(results.identity.holds ? 0 : 1);
}
