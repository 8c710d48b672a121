/**
 * Overload through a whole local network started the way `gotong up` starts it: bursts of chat
 * requests sent all at once (default 200, and 650: about ten times what one channel admits, one
 * running and 64 waiting), every second one streamed, max_tokens 4, on connections opened before
 * the burst, and the largest once more on connections the burst opens itself. Each request is measured twice,
 * in the same run:
 *
 * - server side, inside the `gotong up` process: from the request reaching the gateway's HTTP
 *   handler to its response being written (bench/burstServerTimings.mjs, preloaded, through Node's
 *   http diagnostics channels; the gateway's code is untouched);
 * - client side, in a process of its own (bench/burstClient.ts) whose connections are all open
 *   before the burst: from the request being sent to its answer being read.
 *
 * The difference is the time a request waits before the gateway reads it (socket queues, and the
 * gateway's event loop busy with the requests ahead of it) plus the client's own work. The same
 * client also bursts a bare node:http server that only answers 429 (bench/burstFloorServer.mjs), in
 * the same run: the floor that Node's HTTP stack and this machine set at that moment. It reports
 * refusals (429 with Retry-After expected) and admitted requests, p50/p99 on both sides, the event
 * loop's delay during each burst, and the money identity over the run, as bench/load.ts does.
 *
 *   npx tsx bench/burst.ts [--burst 200,650]
 *   GOTONG_BURST_CPU_PROF=/tmp/prof npx tsx bench/burst.ts     also writes a CPU profile of `gotong up`
 */
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { bigintAsString } from "../src/common/bigintJson.ts";
import type { UpInfo } from "../src/network/startLocalNetwork.ts";
import { chatModel } from "../test/helpers/chatModel.ts";
import { gotongBin, runNode, spawnNode, type CliProcess } from "../test/helpers/cli.ts";
import { freePort } from "../test/helpers/ports.ts";
import { postChat } from "../test/helpers/postChat.ts";
import { readCost } from "../test/helpers/readCost.ts";
import { tempHome } from "../test/helpers/tempHome.ts";
import type { BurstClientConfig, ClientRecord } from "./burstClient.ts";
import { fillReadme } from "./fillReadme.ts";
import { readIdentity, renderIdentity } from "./load.ts";
import { quantile } from "./median.ts";

/** How big the bursts. */
export type BurstOptions = {
  /** Requests sent at once, one burst per size. Default 200 and 650 (GOTONG_BURST_SIZES or --burst 200,650). */
  sizes?: number[];
  /** The sustained overload: this many times the rate one channel serves, for `overloadSeconds`. Default 10 (0: none). */
  overloadFactor?: number;
  /** Default 5. */
  overloadSeconds?: number;
  /** A folder for a CPU profile of the `gotong up` process (GOTONG_BURST_CPU_PROF). */
  cpuProfDir?: string;
};

type ServerRecord = { burst: string; index: number; arrivedAt: number; finishedAt: number; status: number };
type EventLoop = { delayP50Ms: number; delayP99Ms: number; delayMaxMs: number; utilization: number };
type ServerTimings = { records: ServerRecord[]; eventLoop: Record<string, EventLoop | null> };

const hook = resolve(import.meta.dirname, "burstServerTimings.mjs");
const client = resolve(import.meta.dirname, "burstClient.ts");
const floorServer = resolve(import.meta.dirname, "burstFloorServer.mjs");

/** p50, p99 and max of some milliseconds; nulls when there are none. */
function spread(values: number[]) {
  const xs = values.filter((v) => Number.isFinite(v));
  return xs.length ? { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: Math.max(...xs) } : { p50: null, p99: null, max: null };
}

/** Client and server figures for one group of requests (refused or admitted). */
function timesOf(clientSide: ClientRecord[], server: Map<number, ServerRecord>) {
  const matched = clientSide.map((c) => ({ c, s: server.get(c.index) }));
  return {
    count: clientSide.length,
    clientMs: spread(clientSide.map((c) => c.endedAt - c.sentAt)),
    serverMs: spread(matched.map(({ s }) => (s ? s.finishedAt - s.arrivedAt : NaN))),
    /** From the client sending to the server's handler starting: socket queues and a busy event loop. */
    beforeHandlerMs: spread(matched.map(({ c, s }) => (s ? s.arrivedAt - c.sentAt : NaN))),
    /** Requests the server has no record of (they never reached the handler, or never finished). */
    unseenByServer: matched.filter(({ s }) => !s).length,
  };
}

/** The kernel's count of connections dropped on a full listen backlog (TcpExt ListenOverflows), when readable. */
function listenOverflows(): number | null {
  try {
    const lines = readFileSync("/proc/net/netstat", "utf8").split("\n").filter((l) => l.startsWith("TcpExt:"));
    const at = lines[0]!.split(" ").indexOf("ListenOverflows");
    return at > 0 ? Number(lines[1]!.split(" ")[at]) : null;
  } catch {
    return null;
  }
}

/** A process's resident memory now and at its peak (VmRSS, VmHWM in /proc), KiB; nulls where unreadable. */
function memoryOf(pid: number | undefined): { rssKiB: number | null; peakKiB: number | null } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    const [rss, peak] = [field("VmRSS"), field("VmHWM")];
    return { rssKiB: Number.isFinite(rss) ? rss : null, peakKiB: Number.isFinite(peak) ? peak : null };
  } catch {
    return { rssKiB: null, peakKiB: null };
  }
}

/** Runs the client process for one burst and returns its records. */
async function burstFrom(config: BurstClientConfig) {
  const run = await runNode(["--import", "tsx", client, JSON.stringify(config)]);
  if (run.code !== 0) throw new Error(`burst client exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as { records: ClientRecord[]; socketsOpened: number };
}

/** One burst's figures, from the client's records and the server's. */
function summarize(name: string, client: { records: ClientRecord[]; socketsOpened: number }, timings: ServerTimings) {
  const { records } = client;
  const server = new Map(timings.records.filter((r) => r.burst === name).map((r) => [r.index, r]));
  const refused = records.filter((r) => r.status === 429);
  const served = records.filter((r) => r.status === 200 && r.cost !== undefined && r.streamError === undefined);
  const others = records.filter((r) => !refused.includes(r) && !served.includes(r));
  const sent = records.map((r) => r.sentAt);
  return {
    sent: records.length,
    socketsOpenedBeforeBurst: client.socketsOpened,
    requestsOnReusedSockets: records.filter((r) => r.reusedSocket).length,
    /** How long the client took to hand every request to its socket. */
    clientSendSpanMs: Math.max(...sent) - Math.min(...sent),
    /** At a rate: requests per second the client actually sent, and how late against their moments. */
    sentPerSecond: records.length > 1 ? ((records.length - 1) * 1000) / (Math.max(...sent) - Math.min(...sent)) : null,
    lateMs: spread(records.map((r) => r.lateMs ?? NaN)),
    refused: { ...timesOf(refused, server), withRetryAfter: refused.filter((r) => r.retryAfter !== null).length, codes: tally(refused.map((r) => r.code ?? "?")) },
    served: timesOf(served, server),
    others: { count: others.length, kinds: tally(others.map((r) => r.error ?? r.streamError ?? `${r.status} ${r.code ?? ""}`.trim())) },
    /** First request sent to last answer read. */
    seconds: (Math.max(...records.map((r) => r.endedAt)) - Math.min(...sent)) / 1000,
    eventLoop: timings.eventLoop[name] ?? null,
  };
}

/** Stops a server process the way its user would and reads what its timing hook wrote. */
async function stopAndRead(process_: CliProcess, signal: NodeJS.Signals, file: string) {
  process.kill(-process_.child.pid!, signal);
  const code = await Promise.race([process_.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 120_000))]);
  if (code === "timeout") process.kill(-process_.child.pid!, "SIGKILL");
  return { code, timings: JSON.parse(readFileSync(file, "utf8")) as ServerTimings };
}

/** Runs the bursts; see the file's summary. */
export async function benchBurst(options: BurstOptions = {}) {
  const sizes = options.sizes ?? [200, 650];
  const maxTokens = 4;
  const home = tempHome();
  let keep = false;
  let up: CliProcess | undefined;
  let floor: CliProcess | undefined;
  const hardLimit = setTimeout(() => {
    console.error(`burst bench: still running after 900 s; stopping (data folder kept in ${home.root})`);
    for (const p of [up, floor]) if (p?.child.pid && p.child.exitCode === null) process.kill(-p.child.pid, "SIGKILL");
    process.exit(2);
  }, 900_000);
  hardLimit.unref();
  const upTimings = join(home.root, "burst-gateway-timings.json");
  const floorTimings = join(home.root, "burst-floor-timings.json");
  try {
    const model = await chatModel(home.models);
    const [chainPort, providerPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
    const prof = options.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`] : [];
    up = spawnNode(
      [...prof, "--import", hook, gotongBin, "up", "--home", home.root, "--model", model.path, "--threads", "1", "--chain-port", String(chainPort), "--provider-port", String(providerPort), "--gateway-port", String(gatewayPort)],
      { GOTONG_BURST_TIMINGS: upTimings },
      { ownGroup: true },
    );
    floor = spawnNode(["--import", hook, floorServer], { GOTONG_BURST_TIMINGS: floorTimings }, { ownGroup: true });
    const floorUrl = `http://127.0.0.1:${(await floor.waitFor(/^\d+$/m, 30_000)).trim()}/v1`;
    await up.waitFor(/Gotong is up/, 180_000);
    const info = JSON.parse(readFileSync(home.upFile, "utf8")) as UpInfo;

    // Two requests one at a time first: they open the channel, so the bursts measure admission only.
    let told = 0n;
    for (let i = 0; i < 2; i++) {
      const res = await postChat(info.baseUrl, info.model.name, `Once upon a time (${i})`, { max_tokens: maxTokens });
      if (res.status !== 200) throw new Error(`warm-up request answered ${res.status}: ${await res.text()}`);
      told += (await readCost(res)).cost ?? 0n;
    }

    // What one channel serves, one request after another (it runs one at a time): the rate the
    // sustained overload is a multiple of.
    const capacityRequests = 20;
    const capacityStart = performance.now();
    for (let i = 0; i < capacityRequests; i++) {
      const res = await postChat(info.baseUrl, info.model.name, `Once upon a time (${2 + i})`, { max_tokens: maxTokens, stream: i % 2 === 1 });
      if (res.status !== 200) throw new Error(`capacity request answered ${res.status}: ${await res.text()}`);
      told += (await readCost(res)).cost ?? 0n;
    }
    const servedPerSecond = (capacityRequests * 1000) / (performance.now() - capacityStart);
    const factor = options.overloadFactor ?? 10;
    const overloadSeconds = options.overloadSeconds ?? 5;
    const rate = Math.round(servedPerSecond * factor);

    // Each burst: the bare floor server first, then the gateway, one after the other in the same
    // run; every size on connections opened before, the largest once more on new connections; then
    // the sustained overload, requests arriving at `rate` for `overloadSeconds`.
    const plan: { size: number; cold: boolean; rate?: number }[] = [...sizes.map((size) => ({ size, cold: false })), { size: Math.max(...sizes), cold: true }];
    if (factor > 0) plan.push({ size: rate * overloadSeconds, cold: false, rate });
    // `gotong up`'s memory (chain aside: Anvil is a process of its own) before the bursts and after each.
    const memoryBefore = memoryOf(up.child.pid);
    const clients: { size: number; cold: boolean; rate?: number; memoryAfter: ReturnType<typeof memoryOf>; name: string; floor: Awaited<ReturnType<typeof burstFrom>>; gateway: Awaited<ReturnType<typeof burstFrom>>; listenOverflows: number | null }[] = [];
    let first = 2 + capacityRequests;
    for (const { size, cold, rate: perSecond } of plan) {
      const name = `${size}${cold ? "-cold" : ""}${perSecond ? `-at-${perSecond}` : ""}`;
      const base = { model: info.model.name, count: size, maxTokens, first, cold, ratePerSecond: perSecond };
      const overflowsBefore = listenOverflows();
      const atFloor = await burstFrom({ ...base, baseUrl: floorUrl, burst: `floor-${name}` });
      const atGateway = await burstFrom({ ...base, baseUrl: info.baseUrl, burst: `gateway-${name}` });
      const overflowsAfter = listenOverflows();
      for (const r of atGateway.records) told += r.cost === undefined ? 0n : BigInt(r.cost);
      clients.push({ size, cold, rate: perSecond, memoryAfter: memoryOf(up.child.pid), name, floor: atFloor, gateway: atGateway, listenOverflows: overflowsBefore === null || overflowsAfter === null ? null : overflowsAfter - overflowsBefore });
      first += size;
    }

    // Ctrl-C, as a user stops `gotong up`: the gateway settles, the provider redeems, the hook writes.
    const floorRead = await stopAndRead(floor, "SIGTERM", floorTimings);
    const upRead = await stopAndRead(up, "SIGINT", upTimings);
    const { identity } = await readIdentity(home, info, chainPort, told);
    keep = !identity.holds || process.env.GOTONG_LOAD_KEEP === "1";
    return {
      date: new Date().toISOString(),
      node: process.version,
      model: info.model.name,
      threads: 1,
      maxTokens,
      /** One channel's rate, one request after another, and the sustained overload's multiple of it. */
      capacity: { requests: capacityRequests, servedPerSecond, overloadFactor: factor, overloadSeconds },
      /** `gotong up`'s resident memory before the bursts, KiB (each burst's after it is in its row). */
      memoryBefore,
      bursts: clients.map(({ size, cold, rate: perSecond, memoryAfter, name, floor: f, gateway: g, listenOverflows: overflows }) => ({
        size,
        /** A sustained overload: requests per second offered (open loop), rather than all at once. */
        rate: perSecond,
        /** `gotong up`'s resident memory after it, and its peak so far, KiB. */
        memoryAfter,
        /** Connections opened by the burst itself rather than before it. */
        cold,
        /** Connections the kernel dropped because a listen backlog was full, during both bursts (null where unreadable). */
        listenOverflows: overflows,
        floor: summarize(`floor-${name}`, f, floorRead.timings),
        gateway: summarize(`gateway-${name}`, g, upRead.timings),
      })),
      upExit: upRead.code,
      identity,
      dataFolder: keep ? home.root : undefined,
    };
  } finally {
    clearTimeout(hardLimit);
    for (const p of [up, floor]) {
      if (p?.child.pid && p.child.exitCode === null && p.child.signalCode === null) {
        process.kill(-p.child.pid, "SIGKILL");
        await p.exited;
      }
    }
    if (!keep) home.cleanup();
  }
}

/** Counts of each label, most frequent first. */
const tally = (labels: string[]) => Object.fromEntries([...labels.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>())].sort((a, b) => b[1] - a[1]));

export type BurstResults = Awaited<ReturnType<typeof benchBurst>>;

const f0 = (v: number | null) => (v === null ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: 0 }));
const f1 = (v: number | null) => (v === null ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 }));
const mib = (kib: number | null) => (kib === null ? "–" : `${(kib / 1024).toFixed(0)} MiB`);
const pair = (s: { p50: number | null; p99: number | null }) => `${f1(s.p50)} / ${f1(s.p99)} ms`;

/** The README's burst table (between the burst-bench markers). */
export function renderBurstTable(r: BurstResults): string {
  const id = r.identity;
  const lines = [
    `_Last run: ${r.date} on ${r.node}, through \`gotong up\` (${r.model}, ${r.threads} thread, one provider, its channel already open; one channel admits 65 at once: one running, 64 waiting). Each burst: every request at once (every second one streamed, max_tokens ${r.maxTokens}) from a client in its own process, on connections it opened before the burst (third row: on connections the burst opens itself); last row: a sustained overload instead, requests arriving at ${r.capacity.overloadFactor} times the rate one channel serves one request after another (measured first, ${r.capacity.requests} requests), each sent at its moment whatever the answers so far (open loop), for ${r.capacity.overloadSeconds} s on 256 connections opened before. The same client does the same to a bare node:http server that only answers 429, the floor that Node's HTTP stack and this machine set at that moment. p50 / p99, milliseconds._`,
    "",
    "| burst | refused (429, with Retry-After) | refusal, server: handler → written | refusal, client: sent → read | of which before the handler | bare-server floor, client | admitted | admitted, server | admitted, client |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  const label = (b: BurstResults["bursts"][number]) =>
    b.rate ? `sustained: ${f0(b.rate)} a second for ${r.capacity.overloadSeconds} s (${r.capacity.overloadFactor}× the ${f0(r.capacity.servedPerSecond)} a second one channel serves), ${f0(b.size)} requests` : `${b.size}${b.cold ? ", new connections" : ""}`;
  for (const b of r.bursts) {
    const g = b.gateway;
    lines.push(
      `| ${label(b)} | ${g.refused.count} (${g.refused.withRetryAfter}) | **${pair(g.refused.serverMs)}** | **${pair(g.refused.clientMs)}** | ${pair(g.refused.beforeHandlerMs)} | ${pair(b.floor.refused.clientMs)} | ${g.served.count} | ${pair(g.served.serverMs)} | ${pair(g.served.clientMs)} |`,
    );
  }
  const others = r.bursts.flatMap((b) => Object.entries(b.gateway.others.kinds).map(([k, n]) => `${n} × ${k} (${b.rate ? "sustained" : `burst of ${b.size}${b.cold ? ", new connections" : ""}`})`));
  const sustained = r.bursts.filter((b) => b.rate);
  lines.push(
    "",
    `Other outcomes: ${others.join(", ") || "none"}. Connections dropped on a full listen backlog: ${r.bursts.map((b) => b.listenOverflows ?? "unknown").join(", ")}. The gateway's event loop during each, delay p99 / max: ${r.bursts.map((b) => `${b.rate ? "sustained" : `${b.size}${b.cold ? " new" : ""}`}: ${f1(b.gateway.eventLoop?.delayP99Ms ?? null)} / ${f1(b.gateway.eventLoop?.delayMaxMs ?? null)} ms`).join("; ")}.${r.memoryBefore?.rssKiB ? ` Resident memory of the \`gotong up\` process (the chain aside): ${mib(r.memoryBefore.rssKiB)} before, after each: ${r.bursts.map((b) => mib(b.memoryAfter?.rssKiB ?? null)).join(", ")}; peak ${mib(r.bursts.at(-1)?.memoryAfter?.peakKiB ?? null)}.` : ""}${sustained.map((b) => ` Sustained: the client sent ${f0(b.gateway.sentPerSecond)} a second to the gateway (${f0(b.floor.sentPerSecond)} to the bare server), p99 ${f1(b.gateway.lateMs.p99)} ms behind its schedule.`).join("")} Money identity over the run, base units: told to clients ${id.toldToClients}, gateway spent ${id.gatewaySpent}, provider owed ${id.providerOwed}, redeemed on-chain ${id.redeemedOnchain}, royalty + fee + provider share = ${id.split}: ${id.holds ? "**holds**" : `**MISMATCH** (${id.mismatches.join("; ")})`}.`,
  );
  return lines.join("\n");
}

/** Prints a run's figures for a terminal. */
export function printBurst(r: BurstResults): void {
  for (const b of r.bursts) {
    for (const [name, p] of [["floor", b.floor], ["gateway", b.gateway]] as const) {
      console.log(`${name} ${b.rate ? `sustained ${b.rate}/s (sent ${f0(p.sentPerSecond)}/s, p99 ${f1(p.lateMs.p99)} ms late), ${b.size} requests` : `burst of ${b.size}${b.cold ? " on new connections" : ""}`} in ${p.seconds.toFixed(2)} s; ${p.socketsOpenedBeforeBurst} sockets open before, ${p.requestsOnReusedSockets} requests on reused sockets; client sent them all in ${f0(p.clientSendSpanMs)} ms`);
      for (const [what, g] of [["refused", p.refused], ["admitted", p.served]] as const) {
        if (g.count) console.log(`  ${what}: ${g.count}; server p50/p99/max ${f1(g.serverMs.p50)} / ${f1(g.serverMs.p99)} / ${f1(g.serverMs.max)} ms; client ${f1(g.clientMs.p50)} / ${f1(g.clientMs.p99)} / ${f1(g.clientMs.max)} ms; before the handler ${f1(g.beforeHandlerMs.p50)} / ${f1(g.beforeHandlerMs.p99)} ms; unseen by server ${g.unseenByServer}`);
      }
      console.log(`  refusals with Retry-After: ${p.refused.withRetryAfter} of ${p.refused.count} (${JSON.stringify(p.refused.codes)}); others: ${JSON.stringify(p.others.kinds)}; event loop: ${JSON.stringify(p.eventLoop)}`);
    }
  }
  console.log(`connections dropped on a full listen backlog, per burst: ${r.bursts.map((b) => b.listenOverflows ?? "unknown").join(", ")}; gotong up exited ${r.upExit}`);
  for (const line of renderIdentity(r.identity)) console.log(line);
  if (r.dataFolder) console.log(`data folder kept for inspection: ${r.dataFolder}`);
}

/** Run directly: measure, write bench/results/burst.json and the README's burst table; exit 1 on a mismatch. */
if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { burst: { type: "string" } }, strict: true });
  const text = values.burst ?? process.env.GOTONG_BURST_SIZES;
  if (text !== undefined && !/^[1-9]\d*(,[1-9]\d*)*$/.test(text)) throw new Error(`--burst must be positive integers separated by commas (200,650), not "${text}"`);
  const results = await benchBurst({ sizes: text?.split(",").map(Number), cpuProfDir: process.env.GOTONG_BURST_CPU_PROF || undefined });
  writeFileSync(join(import.meta.dirname, "results", "burst.json"), JSON.stringify(results, bigintAsString, 2) + "\n");
  if (process.env.GOTONG_BURST_README !== "0") fillReadme("burst-bench", renderBurstTable(results));
  printBurst(results);
  process.exit(results.identity.holds ? 0 : 1);
}
