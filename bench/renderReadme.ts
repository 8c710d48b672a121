/**
 * Writes the figures from bench/results/latest.json into README.md between the bench markers, so
 * the README always shows the last measured run. `npm run bench` calls it after measuring.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fillReadme } from "./fillReadme.ts";

type Results = Record<string, Record<string, unknown> | string>;
const results = JSON.parse(readFileSync(join(import.meta.dirname, "results", "latest.json"), "utf8")) as Results;
const n = (v: unknown, digits = 2) => (typeof v === "number" ? v.toFixed(digits) : String(v));
/** A figure that misses its goal says so beside it. */
const below = (missed: boolean) => (missed ? " (below goal)" : "");
const rows: string[] = ["| what | measured | baseline in the same run | ratio | goal |", "|---|---|---|---|---|"];
const t = results.throughput as Record<string, any> | undefined;
if (t) {
  rows.push(`| tokens/s through gateway + provider (${t.model}, ${t.threads} thread, ${t.maxTokens} tokens) | ${n(t.gateway.decodeTps, 0)} tok/s | node-llama-cpp direct: ${n(t.direct.decodeTps, 0)} tok/s | **${n(t.gatewayVsDirectTps)}**${below(t.gatewayVsDirectTps < 0.95)} | ≥ 0.95 |`);
  rows.push(`| tokens/s through the provider alone | ${n(t.provider.decodeTps, 0)} tok/s | direct: ${n(t.direct.decodeTps, 0)} tok/s | ${n(t.providerVsDirectTps)} | |`);
  rows.push(`| time to first token added by the provider (voucher check, durable commit, prompt) | +${n(t.ttftAddedByProviderMs, 1)} ms | direct: ${n(t.direct.ttftMs, 1)} ms | | |`);
  rows.push(`| time to first token added by the gateway | +${n(t.ttftAddedByGatewayMs, 1)} ms | provider: ${n(t.provider.ttftMs, 1)} ms | | |`);
  const added = t.ttftAddedByProviderMs + t.ttftAddedByGatewayMs;
  rows.push(`| time to first token the network adds in total (provider + gateway, the two rows above) | +${n(added, 1)} ms${below(added > 5)} | direct: ${n(t.direct.ttftMs, 1)} ms | | ≤ 5 ms |`);
  if (t.durableCommitMs !== undefined) rows.push(`| the floor under it: two durable commits before the first token (the provider's admission, the gateway's pending record), a disk flush each | 2 × ${n(t.durableCommitMs, 2)} ms | a bare SQLite commit (WAL, synchronous=FULL) on the same disk: ${n(t.durableCommitMs, 2)} ms | | |`);
}
const g = results.settlementGas as Record<string, any> | undefined;
if (g) rows.push(`| gas to settle ${g.requests} requests: one redeem | ${g.redeemGas} gas | ${g.requests} ERC-20 transfers: ${g.transfersGas} gas | **${n(g.ratio, 0)}× less** | ≥ 500× |`);
const v = results.voucherVerify as Record<string, any> | undefined;
if (v) rows.push(`| voucher signature check (direct EIP-712 digest + libsecp256k1, cached key) | ${n(v.gotongVerifyMs, 3)} ms | viem typed-data recovery: ${n(v.viemRecoverMs, 3)} ms | **${n(v.speedup, 1)}× faster** | ≥ 5× |`);
const h = results.hpke as Record<string, any> | undefined;
if (h) rows.push(`| HPKE sealed round trip per request | ${n(h.ourRoundTripMs, 3)} ms | @hpke/core: ${n(h.hpkeCoreRoundTripMs, 3)} ms | **${n(h.speedup, 1)}× faster** | ≥ 5× |`);
const s = t?.sealed as Record<string, any> | undefined;
if (s) rows.push(`| tokens/s through the sealed path (HPKE request, sealed stream) | ${n(s.gateway.decodeTps, 0)} tok/s | same gateway unsealed: ${n(s.unsealedGateway.decodeTps, 0)} tok/s | **${n(s.sealedVsUnsealedTps)}**${below(s.sealedVsUnsealedTps < 0.97)} | ≥ 0.97 |`);
const b = results.batching as Record<string, any> | undefined;
for (const m of (b?.models ?? []) as any[]) {
  // The level furthest from its goal stands for the model; the full table is in the README's batching section.
  const worst = (m.levels as any[]).reduce((a, l) => (l.ratio < a.ratio ? l : a));
  rows.push(`| aggregate tokens/s of concurrent streams through the provider's backend (${m.model}, lowest of 1/4/8/16 streams: ${worst.streams}) | ${n(worst.backendTps, 0)} tok/s | node-llama-cpp, same sequences in one context: ${n(worst.engineTps, 0)} tok/s | **${n(worst.ratio)}**${below(Number(n(worst.ratio)) < 0.9)} | ≥ 0.9 |`);
  rows.push(`| gain from batching, aggregate at 8 streams ÷ at 1 (${m.model}) | ${n(m.gain8over1.backend)}× | node-llama-cpp: ${n(m.gain8over1.engine)}× | | |`);
}
const m = results.manyStreams as Record<string, any> | undefined;
if (m) {
  // Measured by bench/manyStreams.ts, which can run alone (its own date is in its section's table).
  const u = m.unsealed.many;
  const sealedMany = m.sealed.many;
  rows.push(`| streams through one gateway at once, errors (paced upstream, ${m.tokensPerStream} tokens each; bench/manyStreams.ts) | ${u.streams} streams: ${u.errors} errors unsealed, ${sealedMany.errors} sealed | 1 stream: ${m.unsealed.single.errors} errors | | 0 errors |`);
  rows.push(`| time a token spends inside the gateway at ${u.streams} streams, p50 / p99 | ${n(u.insideGatewayMs.p50)} / ${n(u.insideGatewayMs.p99)} ms | 1 stream: ${n(m.unsealed.single.insideGatewayMs.p50)} / ${n(m.unsealed.single.insideGatewayMs.p99)} ms | | |`);
  rows.push(`| gateway memory per open stream (RSS at the peak − before, ÷ streams) | ${n(u.rssPerStreamKiB, 0)} KiB unsealed, ${n(sealedMany.rssPerStreamKiB, 0)} KiB sealed | | | |`);
  rows.push(`| tokens/s delivered at ${u.streams} streams, sealed | ${n(sealedMany.tokensPerSecond, 0)} tok/s | same run unsealed: ${n(u.tokensPerSecond, 0)} tok/s | **${n(m.sealedOverUnsealed.tokensPerSecond)}**${below(m.sealedOverUnsealed.tokensPerSecond < 0.97)} | ≥ 0.97 |`);
}
// A section measured again on its own (its bench run alone) says so under the full run's date.
const remeasured = typeof results.remeasured === "string" ? ` Measured since, on their own: ${results.remeasured}.` : "";
fillReadme("bench", `_Last run: ${results.date} on ${results.node}.${remeasured}_\n\n${rows.join("\n")}`);
console.log(rows.join("\n"));
