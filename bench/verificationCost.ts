/**
 * What verified serving costs the network, and how soon it catches a cheating provider (issue 14).
 *
 * One run, on a devnet:
 * 1. Challenge traffic. One provider serving stories260K (1 thread), three staked validators
 *    (`startValidator`, each re-running evidence on its own hash-checked copy of the weights), and a
 *    gateway with challenges on at a measuring share of 0.02 (no newcomer phase: every request at
 *    that share; the default steady share, 0.006, would send too few challenges in a run this
 *    short to read their costs). N paid completions (sealed, through the
 *    gateway's OpenAI API; bounded in count and time) are driven through it; the gateway's
 *    challenger mixes its challenges in. Read from the gateway's own records, in base units: what its
 *    clients were told their requests cost, what the challenger spent (`challenges.stats().spent`),
 *    and the channels' `spent` (which must be their sum).
 * 2. Validator compute. After the network stops: the CPU time (process user + system, the only work
 *    in the process then) of re-running each challenge's evidence with the validator's verifier,
 *    against the CPU time the provider's own backend takes to serve the same request, and to serve
 *    the run's user requests. No price is assumed for the ratio; turning it into a share of spend
 *    assumes validator compute costs what the provider's compute costs (stated in the table).
 * 3. Gas, measured on the same Anvil node: the validators' `attestPasses` batches (the only on-chain
 *    cost of challenges an honest provider passes), and one case of each outcome (report, three
 *    commits, three reveals, finalize): an honest one on a real challenge's evidence, a fraud one on
 *    an altered answer signed with the provider's key. In base units only at a stated gas price and
 *    native-coin price (assumptions).
 * 4. Detection per request a cheater serves: the catch rate per challenge of each kind of cheat is
 *    measured here at the validator's present rule (src/verification, DEFAULT_TOLERANCE), on fresh
 *    challenges served by the cheating backend; P(caught within n) = 1 − (1 − s·c)^n with s the
 *    measured challenge share.
 * 5. At the gateway's defaults: each challenge is an independent paid request and re-run, so the
 *    costs scale with the share; the table projects the measured cost per unit of share to the
 *    default steady share (DEFAULT_CHALLENGE_SHARE) and to the newcomer phase (the first
 *    NEWCOMER_REQUESTS requests of a provider at DEFAULT_NEWCOMER_CHALLENGE_SHARE), with detection.
 *    Attestations: the run measures the gas of one `attestPasses` transaction (its gas hardly
 *    depends on the count); a validator sends one per provider once DEFAULT_ATTEST_MIN_PASSES passes
 *    are pending (or the oldest is DEFAULT_ATTEST_MAX_AGE_MS old), so at the defaults a pass costs
 *    at most a DEFAULT_ATTEST_MIN_PASSES-th of a transaction wherever traffic fills that in time.
 *
 *   npx tsx bench/verificationCost.ts [requests]   writes bench/results/verification-cost.json and the README's table (also part of `npm run bench`)
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import { decodeFunctionData, erc20Abi, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ServingVerificationArtifact } from "../src/chain/contracts.generated.ts";
import { createClients } from "../src/chain/createClients.ts";
import { fundOnDevnet } from "../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../src/chain/writeAndWait.ts";
import { bigintAsString } from "../src/common/bigintJson.ts";
import { startGateway } from "../src/gateway/startGateway.ts";
import { DEFAULT_CHALLENGE_SHARE, DEFAULT_NEWCOMER_CHALLENGE_SHARE, NEWCOMER_REQUESTS } from "../src/gateway/challenges/startChallenges.ts";
import { createLlamaBackend } from "../src/provider/createLlamaBackend.ts";
import type { InferenceBackend } from "../src/provider/backend.ts";
import { startProvider } from "../src/provider/startProvider.ts";
import { OUTCOME } from "../src/validator/caseOutcome.ts";
import { DEFAULT_ATTEST_MAX_AGE_MS, DEFAULT_ATTEST_MIN_PASSES } from "../src/validator/createPassBatcher.ts";
import { startValidator, type RunningValidator } from "../src/validator/startValidator.ts";
import { createChallenge, createVerifier, decodeEvidence, DEFAULT_TOLERANCE, type Evidence, type Verdict, type Verifier } from "../src/verification/index.ts";
import { serveBody, signEvidence, type Served } from "../src/verification/evidenceFixtures.ts";
import { quantizeGguf, type QuantTarget } from "../src/verification/quantizeGguf.ts";
import { haveSharedModels, sharedModelPath, SHARED_MODELS } from "../test/fixtures/model/sharedModels.ts";
import { DEFAULT_PRICE, quietLogger, startTestNetwork, UNIT } from "../test/helpers/network.ts";
import { freePort } from "../test/helpers/ports.ts";
import { readCost } from "../test/helpers/readCost.ts";
import { median } from "./median.ts";
import { fillReadme } from "./fillReadme.ts";

/** Assumptions for turning gas into token base units (gUSD, 6 decimals): an L2-like gas price and a native coin at 3,000 gUSD. */
const GAS_PRICE_WEI = 50_000_000n; // 0.05 gwei
const NATIVE_PRICE_BASE_UNITS = 3_000n * UNIT; // 1 native coin (1e18 wei) = 3,000 gUSD
const WEI_PER_NATIVE = 10n ** 18n;
/** Base units (rounded down) that `gas` costs at the assumed prices. */
const gasInBaseUnits = (gas: bigint) => (gas * GAS_PRICE_WEI * NATIVE_PRICE_BASE_UNITS) / WEI_PER_NATIVE;

const GOAL_SHARE = 0.02;
/** The share the run measures at: about 20 challenges in 1,000 requests, enough to read their costs. */
const MEASURING_SHARE = 0.02;
const HORIZONS = [1, 100, 300, 1000] as const;
/** Story openings the bench's user traffic uses (stories260K is a completion model). */
const USER_PROMPTS = [
  "Once upon a time, there was a little girl named Lily.",
  "One day, Tom went to the park with his mom.",
  "There was a big red ball in the garden.",
  "Sam and his dog liked to play in the snow.",
  "Once upon a time, a small bird lived in a tall tree.",
  "Anna had a new toy. It was a shiny car.",
  "The sun was hot and the sky was blue.",
  "Max wanted to find the lost key.",
  "In a little house by the sea, there lived an old cat.",
  "Mia was sad because it was raining.",
  "Ben saw a frog near the pond.",
  "Once upon a time, there was a kind bear who loved honey.",
] as const;
const USER_MAX_TOKENS = [32, 64, 128, 256] as const;
const INJECTED_PREFIX = "Here is a story for children:\n";
/** Per cheat: at least this many challenges, then no new one after the budget. */
const MIN_CATCH_CHALLENGES = 3;
const CHEAT_BUDGET_MS = 60_000;

type Body = Record<string, unknown>;
type Captured = { evidence: Evidence; verdict: { fraud: boolean; reason: string }; ms: number };
type GasRow = { call: string; calls: number; gas: bigint };

const cpuMs = (start: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => (xs.length ? sum(xs) / xs.length : 0);
/** Requests until a cheater is caught with probability `p`, at per-request detection `q`; Infinity when never. */
const requestsFor = (p: number, q: number) => (q <= 0 ? Infinity : q >= 1 ? 1 : Math.ceil(Math.log(1 - p) / Math.log(1 - q)));
/** Wilson's 95% interval of a share `k` of `n`. */
function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.96;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
/** `k`/`n` as a share of two bigints, as a float (for display only). */
const ratio = (k: bigint, n: bigint) => (n === 0n ? 0 : Number((k * 1_000_000_000n) / n) / 1e9);

/**
 * A pass-through in front of a validator that keeps what a gateway asked and what it was told: the
 * challenges' real evidence, for the gas and compute measurements. Registered on-chain as the
 * validator's endpoint, so the gateway finds it like any other.
 */
async function startValidatorTap(): Promise<{ url: string; captured: Captured[]; target: { url: string }; server: Server }> {
  const captured: Captured[] = [];
  const target = { url: "" };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const started = performance.now();
    try {
      const answer = await fetch(`${target.url}${req.url ?? "/"}`, { method: req.method, headers: { "content-type": req.headers["content-type"] ?? "application/json" }, body: req.method === "POST" ? body : undefined });
      const text = await answer.text();
      if (req.method === "POST" && (req.url ?? "").endsWith("/gotong/validate") && answer.status === 200) {
        captured.push({ evidence: decodeEvidence(JSON.parse(body.toString("utf8"))), verdict: JSON.parse(text) as Captured["verdict"], ms: performance.now() - started });
      }
      res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" }).end(text);
    } catch (error) {
      res.writeHead(502).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, captured, target, server };
}

/** Runs the measurements. */
export async function benchVerificationCost(options: { requests?: number; seconds?: number; share?: number; computeSamples?: number; catchChallenges?: number } = {}) {
  if (!haveSharedModels()) return { skipped: "the shared models (stories260K, llama-2-tiny-random) are absent from ../shared/models" };
  // 1,000 requests (about 2 minutes here): at a 2% share that is about 20 challenges, enough to read the share to ±1 point.
  const requests = options.requests ?? 1000;
  const seconds = options.seconds ?? 240;
  const share = options.share ?? MEASURING_SHARE;
  const computeSamples = options.computeSamples ?? 30;
  const catchChallenges = options.catchChallenges ?? 40;
  const storiesPath = sharedModelPath("stories260K");
  const storiesHash: Hex = `0x${SHARED_MODELS.stories260K.sha256}`;
  const started = performance.now();
  const logger = quietLogger();

  // ---- 1. Challenge traffic through a gateway, on a devnet ----
  const net = await startTestNetwork();
  const taps: Awaited<ReturnType<typeof startValidatorTap>>[] = [];
  const validators: RunningValidator[] = [];
  const stops: [string, () => Promise<unknown>][] = [];
  let traffic!: {
    requests: number;
    served: number;
    errors: string[];
    userSpent: bigint;
    userOutputTokens: number;
    wallSeconds: number;
    bodies: Body[];
  };
  let challenges!: ReturnType<NonNullable<Awaited<ReturnType<typeof startGateway>>["challenges"]>["stats"]>;
  let gatewaySpent!: bigint;
  let attest!: { transactions: number; passes: number; gas: bigint };
  let cases: { honest?: { outcome: string; gas: GasRow[]; total: bigint }; fraud?: { outcome: string; gas: GasRow[]; total: bigint } } = {};
  let providerKey!: Hex;
  const captured: Captured[] = [];
  try {
    const { deployment } = net.devnet;
    const sv = (deployment as typeof deployment & { servingVerification?: Address }).servingVerification;
    if (!sv) throw new Error("the devnet deployed no ServingVerification");
    const modelId = await net.publish(storiesPath, "stories260K");
    providerKey = generatePrivateKey();
    await fundOnDevnet(deployment, privateKeyToAccount(providerKey).address, { tokens: 1_000n * UNIT });
    const provider = await startProvider({ home: net.home, deployment, privateKey: providerKey, modelPath: storiesPath, modelId, price: DEFAULT_PRICE, port: 0, threads: 1, parallel: 1, redeemIntervalMs: 3_600_000, logger });
    stops.push(["the provider", provider.stop]);
    for (let i = 0; i < 3; i++) {
      const tap = await startValidatorTap();
      taps.push(tap);
      const key = generatePrivateKey();
      await fundOnDevnet(deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
      const port = await freePort();
      tap.target.url = `http://127.0.0.1:${port}`;
      // Passes are attested in one batch at the end (the default is every 10 minutes).
      const validator = await startValidator({ home: net.home, deployment, privateKey: key, modelPaths: [storiesPath], port, publicUrl: tap.url, threads: 1, pollMs: 300, attestIntervalMs: 3_600_000, logger });
      validators.push(validator);
      stops.push([`validator ${i + 1}`, validator.stop]);
    }
    const gatewayKey = generatePrivateKey();
    await fundOnDevnet(deployment, privateKeyToAccount(gatewayKey).address, { tokens: 1_000n * UNIT });
    // Challenges follow their request within 2 s rather than 60: the run is short, and at the default
    // delay the challenger's cap of 2 waiting per provider would drop most of them at this rate of traffic.
    const gateway = await startGateway({ home: net.home, deployment, privateKey: gatewayKey, port: 0, challengeShare: share, challengeShareNew: share, challengeMaxDelayMs: 2_000, logger });
    stops.push(["the gateway", gateway.stop]);
    await gateway.promptCounterReady;
    if (!gateway.challenges) throw new Error("the gateway started with challenges off");

    const bodies: Body[] = [];
    const errors: string[] = [];
    let userSpent = 0n;
    let userOutputTokens = 0;
    const trafficStart = performance.now();
    const deadline = trafficStart + seconds * 1000;
    for (let i = 0; i < requests && performance.now() < deadline; i++) {
      const body: Body = {
        model: "stories260K",
        prompt: USER_PROMPTS[i % USER_PROMPTS.length],
        max_tokens: USER_MAX_TOKENS[Math.floor(Math.random() * USER_MAX_TOKENS.length)],
        temperature: 0.8,
        ...(i % 2 === 0 ? { stream: true } : {}),
      };
      bodies.push(body);
      try {
        const res = await fetch(`${gateway.baseUrl}/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
        if (res.status !== 200) {
          errors.push(`${res.status} ${(await res.text()).slice(0, 200)}`);
          continue;
        }
        const told = await readCost(res);
        if (told.cost === undefined || told.streamError) {
          errors.push(`no cost told${told.streamError ? ` (${told.streamError})` : ""}`);
          if (told.cost !== undefined) userSpent += told.cost;
          continue;
        }
        userSpent += told.cost;
        userOutputTokens += told.outputTokens;
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    const wallSeconds = (performance.now() - trafficStart) / 1000;
    // The last challenges are drawn up to 2 s after their request; each then runs and is judged.
    await Promise.race([gateway.challenges.idle(), sleep(120_000)]);
    challenges = gateway.challenges.stats();
    gatewaySpent = gateway.store.listChannels().reduce((s, c) => s + c.spent, 0n);
    traffic = { requests: bodies.length, served: bodies.length - errors.length, errors, userSpent, userOutputTokens, wallSeconds, bodies };
    console.error(`verification-cost: ${traffic.served}/${traffic.requests} requests in ${wallSeconds.toFixed(1)} s; challenges ${JSON.stringify(challenges, bigintAsString)}; user ${userSpent}, challenges ${challenges.spent}, gateway spent ${gatewaySpent}`);
    for (const tap of taps) captured.push(...tap.captured);

    // ---- 3. Gas: attestations of the passes, then one case of each outcome ----
    const client = net.creator.public;
    const scanGas = async (from: bigint, to: bigint, accept: (tx: { to: Address | null; from: Address }) => boolean): Promise<GasRow[]> => {
      const rows = new Map<string, GasRow>();
      for (let b = from; b <= to; b++) {
        const block = await client.getBlock({ blockNumber: b, includeTransactions: true });
        for (const tx of block.transactions) {
          if (!accept(tx)) continue;
          const receipt = await client.getTransactionReceipt({ hash: tx.hash });
          let call = "other";
          if (tx.to?.toLowerCase() === sv.toLowerCase()) {
            try {
              call = decodeFunctionData({ abi: ServingVerificationArtifact.abi, data: tx.input }).functionName;
            } catch {
              /* not one of ours */
            }
          } else if (tx.to?.toLowerCase() === deployment.token.address.toLowerCase()) call = "token approve (report bond)";
          const row = rows.get(call) ?? { call, calls: 0, gas: 0n };
          row.calls++;
          row.gas += receipt.gasUsed;
          rows.set(call, row);
        }
      }
      return [...rows.values()];
    };
    const beforeAttest = (await client.getBlockNumber({ cacheTime: 0 })) + 1n;
    let passes = 0;
    for (const v of validators) passes += await v.batcher.flush();
    const attestRows = await scanGas(beforeAttest, await client.getBlockNumber({ cacheTime: 0 }), (tx) => tx.to?.toLowerCase() === sv.toLowerCase());
    attest = { transactions: attestRows.reduce((n, r) => n + r.calls, 0), passes, gas: attestRows.reduce((g, r) => g + r.gas, 0n) };
    console.error(`verification-cost: attested ${passes} passes in ${attest.transactions} transactions, ${attest.gas} gas`);

    const reporterKey = generatePrivateKey();
    const reporterAccount = privateKeyToAccount(reporterKey);
    await fundOnDevnet(deployment, reporterAccount.address, { tokens: 1_000n * UNIT });
    const reporter = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: reporterAccount });
    const svContract = { address: sv, abi: ServingVerificationArtifact.abi } as const;
    const bond = (await client.readContract({ ...svContract, functionName: "reportBond" })) as bigint;
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels };
    const runCase = async (evidence: Evidence) => {
      const from = (await client.getBlockNumber({ cacheTime: 0 })) + 1n;
      await writeAndWait(reporter, { address: deployment.token.address, abi: erc20Abi, functionName: "approve", args: [sv, bond] });
      const { result } = await writeAndWait(reporter, {
        ...svContract,
        functionName: "report",
        args: [evidence.provider, { ...evidence.receipt, signature: undefined } as never, evidence.receipt.signature, `0x${Buffer.from(evidence.request).toString("hex")}`, `0x${Buffer.from(evidence.response).toString("hex")}`],
      } as never);
      const caseId = result as Hex;
      let outcome = OUTCOME.open as number;
      const until = Date.now() + 120_000;
      while (outcome === OUTCOME.open && Date.now() < until) {
        await sleep(500);
        outcome = ((await client.readContract({ ...svContract, functionName: "getCase", args: [caseId] })) as { outcome: number }).outcome;
      }
      const names = Object.fromEntries(Object.entries(OUTCOME).map(([k, v]) => [v, k]));
      const gas = await scanGas(from, await client.getBlockNumber({ cacheTime: 0 }), (tx) => tx.to?.toLowerCase() === sv.toLowerCase() || (tx.from.toLowerCase() === reporterAccount.address.toLowerCase() && tx.to?.toLowerCase() === deployment.token.address.toLowerCase()));
      return { outcome: names[outcome] ?? String(outcome), gas, total: gas.reduce((g, r) => g + r.gas, 0n) };
    };
    // An honest case on a real challenge's evidence (or, if the run drew none, a challenge served here and signed by the provider).
    let honestEvidence = captured.find((c) => !c.verdict.fraud)?.evidence;
    const providerAccount = privateKeyToAccount(providerKey);
    if (!honestEvidence) {
      const backend = await createLlamaBackend({ modelPath: storiesPath, threads: 1, parallel: 1 });
      try {
        const body = createChallenge({ model: "stories260K", chatTemplate: false }).body;
        const served = await serveBody(backend, body);
        honestEvidence = await signEvidence(providerAccount, domain, { body, text: served.text, inputTokens: served.inputTokens, outputTokens: served.outputTokens, weightsHash: storiesHash });
      } finally {
        await backend.dispose();
      }
    }
    cases.honest = await runCase(honestEvidence);
    console.error(`verification-cost: honest case ${cases.honest.outcome}, ${cases.honest.total} gas`);
    // A fraud case: the same request, an answer the weights did not write, the receipt signed by the provider.
    const fraudEvidence = await signEvidence(providerAccount, domain, {
      body: honestEvidence.request,
      text: `Zebra ${honestEvidence.response}`,
      inputTokens: honestEvidence.receipt.inputTokens,
      outputTokens: honestEvidence.receipt.outputTokens + 1n,
      weightsHash: storiesHash,
    });
    cases.fraud = await runCase(fraudEvidence);
    console.error(`verification-cost: fraud case ${cases.fraud.outcome}, ${cases.fraud.total} gas`);
  } finally {
    // Each part is given a bounded time to stop, so a stuck one cannot hold the bench.
    const bounded = async (what: string, stop: () => Promise<unknown>) => {
      const done = await Promise.race([stop().then(() => true, () => true), sleep(30_000).then(() => false)]);
      if (!done) console.error(`verification-cost: ${what} did not stop within 30 s; going on`);
    };
    for (const [what, stop] of [...stops].reverse()) await bounded(what, stop);
    for (const tap of taps) {
      tap.server.closeAllConnections();
      tap.server.close();
    }
    await bounded("the devnet", () => net.stop());
    console.error("verification-cost: network stopped; measuring compute");
  }

  // ---- 2. Validator compute against provider compute, nothing else running in the process ----
  const dir = mkdtempSync(join(tmpdir(), "gotong-verification-cost-"));
  const account = privateKeyToAccount(`0x${"ab".repeat(32)}`);
  const localDomain = { chainId: 31337, verifyingContract: `0x${"22".repeat(20)}` as Hex };
  const verifier = await createVerifier({ path: storiesPath, weightsHash: storiesHash }, { threads: 1 });
  try {
    const backend = await createLlamaBackend({ modelPath: storiesPath, threads: 1, parallel: 1 });
    type Sample = { source: "run" | "fresh"; outputTokens: number; providerCpuMs: number; validatorCpuMs: number; providerWallMs: number; validatorWallMs: number; sameText: boolean; verdict: Verdict["reason"] };
    const samples: Sample[] = [];
    let userCpu: number[] = [];
    try {
      // Warm both (first evaluations allocate).
      const warm = createChallenge({ model: "stories260K", chatTemplate: false }).body;
      const warmServed = await serveBody(backend, warm);
      await verifier.verify(await signEvidence(account, localDomain, { body: warm, text: warmServed.text, inputTokens: warmServed.inputTokens, outputTokens: warmServed.outputTokens, weightsHash: storiesHash }));
      const measure = async (source: Sample["source"], body: Body, evidence?: Evidence) => {
        let c = process.cpuUsage();
        let t = performance.now();
        const served = await serveBody(backend, body);
        const providerCpuMs = cpuMs(c);
        const providerWallMs = performance.now() - t;
        const ev = evidence ?? (await signEvidence(account, localDomain, { body, text: served.text, inputTokens: served.inputTokens, outputTokens: served.outputTokens, weightsHash: storiesHash }));
        c = process.cpuUsage();
        t = performance.now();
        const verdict = await verifier.verify(ev);
        samples.push({ source, outputTokens: served.outputTokens, providerCpuMs, validatorCpuMs: cpuMs(c), providerWallMs, validatorWallMs: performance.now() - t, sameText: served.text === ev.response, verdict: verdict.reason });
      };
      // The run's own challenges: re-served here, and their evidence (receipt from the run) re-run.
      for (const { evidence } of captured) await measure("run", JSON.parse(Buffer.from(evidence.request).toString("utf8")) as Body, evidence);
      while (samples.length < computeSamples) await measure("fresh", createChallenge({ model: "stories260K", chatTemplate: false }).body);
      console.error(`verification-cost: re-ran ${samples.length} challenges; serving user requests`);
      // The provider's compute for the run's user requests (sampled at temperature 0.8 as they were).
      for (const body of traffic.bodies.slice(0, 100)) {
        const { stream: _stream, ...plain } = body;
        const c = process.cpuUsage();
        await serveBody(backend, plain);
        userCpu.push(cpuMs(c));
      }
    } finally {
      await backend.dispose();
    }

    console.error("verification-cost: compute measured; catch rates");
    // ---- 4. Catch rate per challenge of each cheat, at the validator's present rule ----
    const bodies = Array.from({ length: catchChallenges }, () => createChallenge({ model: "stories260K", chatTemplate: false }).body);
    const cheats: { label: string; path: string; transform?: (b: Body) => Body; bill?: (s: Served) => { inputTokens: number; outputTokens: number } }[] = [];
    for (const target of ["F16", "Q8_0", "Q4_0"] as QuantTarget[]) {
      const file = join(dir, `stories260K-${target}.gguf`);
      await quantizeGguf(storiesPath, file, target);
      cheats.push({ label: `stories260K requantised to ${target}`, path: file });
    }
    cheats.push({ label: `injected prefix ${JSON.stringify(INJECTED_PREFIX)}`, path: storiesPath, transform: (b) => ({ ...b, prompt: INJECTED_PREFIX + String(b.prompt) }) });
    cheats.push({ label: "one output token more billed", path: storiesPath, bill: (s) => ({ ...s, outputTokens: s.outputTokens + 1 }) });
    cheats.push({ label: "one input token more billed", path: storiesPath, bill: (s) => ({ ...s, inputTokens: s.inputTokens + 1 }) });
    // Last: re-running another model's answer is the slowest (the validator walks the whole answer, re-evaluating the rest at each divergence).
    cheats.push({ label: "another model (llama-2-tiny-random)", path: sharedModelPath("tinyRandom") });
    const catchRates: { label: string; challenges: number; caught: number; rate: number; reasons: Record<string, number>; medianValidatorCpuMs: number; maxValidatorCpuMs: number; flaggedDetails: { body: Body; text: string; detail: string; firstMismatch?: number }[] }[] = [];
    const backends = new Map<string, InferenceBackend>();
    try {
      for (const cheat of cheats) {
        let backend = backends.get(cheat.path);
        if (!backend) backends.set(cheat.path, (backend = await createLlamaBackend({ modelPath: cheat.path, threads: 1, parallel: 1 })));
        const reasons: Record<string, number> = {};
        let caught = 0;
        let done = 0;
        const cpu: number[] = [];
        // What the answers judged different_output were, where the answer should equal stories260K's own (F16 and the billing cheats): for diagnosis.
        const flaggedDetails: { body: Body; text: string; detail: string; firstMismatch?: number }[] = [];
        const cheatStart = performance.now();
        for (const body of bodies) {
          // Bounded: a re-run of another model's answer can take far longer than an honest one's.
          if (done >= MIN_CATCH_CHALLENGES && performance.now() - cheatStart > CHEAT_BUDGET_MS) break;
          const served = await serveBody(backend, cheat.transform ? cheat.transform(body) : body);
          const billed = cheat.bill ? cheat.bill(served) : served;
          const evidence = await signEvidence(account, localDomain, { body, text: served.text, inputTokens: billed.inputTokens, outputTokens: billed.outputTokens, weightsHash: storiesHash });
          const c = process.cpuUsage();
          const verdict = await verifier.verify(evidence);
          cpu.push(cpuMs(c));
          done++;
          if (verdict.fraud) caught++;
          if (verdict.reason === "different_output" && (cheat.bill || cheat.label.includes("F16")) && flaggedDetails.length < 3) flaggedDetails.push({ body, text: served.text, detail: verdict.detail, firstMismatch: verdict.firstMismatch });
          reasons[verdict.reason] = (reasons[verdict.reason] ?? 0) + 1;
        }
        catchRates.push({ label: cheat.label, challenges: done, caught, rate: caught / done, reasons, medianValidatorCpuMs: median(cpu), maxValidatorCpuMs: Math.max(...cpu), flaggedDetails });
        console.error(`verification-cost: ${cheat.label}: caught ${caught}/${done}; validator CPU per re-run median ${median(cpu).toFixed(0)} ms, max ${Math.max(...cpu).toFixed(0)} ms`);
      }
    } finally {
      for (const b of backends.values()) await b.dispose();
    }

    // ---- Derivations ----
    const sMeasured = traffic.served ? challenges.sent / traffic.served : 0;
    const challengeSpendShare = ratio(challenges.spent, traffic.userSpent);
    const meanUserCost = traffic.served ? Number(traffic.userSpent) / traffic.served : 0;
    const meanChallengeCost = challenges.sent ? Number(challenges.spent) / challenges.sent : 0;
    const validatorCpu = samples.map((s) => s.validatorCpuMs);
    const providerCpu = samples.map((s) => s.providerCpuMs);
    const compute = {
      samples: samples.length,
      fromRun: samples.filter((s) => s.source === "run").length,
      honestFlagged: samples.filter((s) => s.verdict !== "ok").length,
      reRunTextDiffered: samples.filter((s) => !s.sameText).length,
      medianValidatorCpuMs: median(validatorCpu),
      medianProviderCpuMs: median(providerCpu),
      meanValidatorCpuMs: mean(validatorCpu),
      meanProviderCpuMs: mean(providerCpu),
      meanOutputTokens: mean(samples.map((s) => s.outputTokens)),
      /** Validator CPU per challenge ÷ provider CPU serving that same challenge (totals over the samples). */
      validatorOverProvider: sum(validatorCpu) / sum(providerCpu),
      meanUserRequestCpuMs: mean(userCpu),
      userRequestsMeasured: userCpu.length,
      samplesDetail: samples,
    };
    // Validator compute per user request served, against the provider's compute per user request.
    const validatorComputeShare = (sMeasured * compute.meanValidatorCpuMs) / compute.meanUserRequestCpuMs;
    const attestGasPerRequest = traffic.served ? Number(attest.gas) / traffic.served : 0;
    const attestShare = traffic.userSpent > 0n ? ratio(gasInBaseUnits(attest.gas), traffic.userSpent) : 0;
    // Without gas: the two costs that need no price beyond "compute costs what the provider's does".
    const computeAndTrafficShare = challengeSpendShare + validatorComputeShare;
    const totalShare = computeAndTrafficShare + attestShare;
    const detection = catchRates.map((c) => {
      const q = sMeasured * c.rate;
      return { ...c, perRequest: q, caughtWithin: Object.fromEntries(HORIZONS.map((n) => [n, 1 - (1 - q) ** n])), requestsFor99: requestsFor(0.99, q) };
    });
    // The largest share whose challenge traffic and validator compute stay under the goal, at the costs measured per challenge (gas aside).
    const costPerUnitShare = sMeasured > 0 ? computeAndTrafficShare / sMeasured : 0;
    const shareForGoal = costPerUnitShare > 0 ? GOAL_SHARE / costPerUnitShare : undefined;
    // The gateway's defaults, projected from the measured cost per unit of share.
    const validatorCount = Math.max(1, validators.length);
    const attestGasPerTransaction = attest.transactions ? Number(attest.gas) / attest.transactions : 0;
    // Base units per unit of gas at the assumed prices (gasInBaseUnits on a large round amount, for precision).
    const baseUnitsPerGas = Number(gasInBaseUnits(10n ** 12n)) / 1e12;
    const attestGasPerRequestAtDefaults = (DEFAULT_CHALLENGE_SHARE * attestGasPerTransaction) / DEFAULT_ATTEST_MIN_PASSES;
    const attestShareAtDefaults = meanUserCost > 0 ? (attestGasPerRequestAtDefaults * baseUnitsPerGas) / meanUserCost : 0;
    const defaults = {
      share: DEFAULT_CHALLENGE_SHARE,
      attestMinPasses: DEFAULT_ATTEST_MIN_PASSES,
      attestMaxAgeHours: DEFAULT_ATTEST_MAX_AGE_MS / 3_600_000,
      attestGasPerTransaction,
      validators: validatorCount,
      attestGasPerRequest: attestGasPerRequestAtDefaults,
      attestShare: attestShareAtDefaults,
      /** Requests a day to one provider at which each of the run's validators fills its threshold within the maximum age (the gateway spreads challenges over them). */
      requestsPerDayForThreshold: (DEFAULT_ATTEST_MIN_PASSES * validatorCount * (24 / (DEFAULT_ATTEST_MAX_AGE_MS / 3_600_000))) / DEFAULT_CHALLENGE_SHARE,
      steadyTotalWithGas: costPerUnitShare * DEFAULT_CHALLENGE_SHARE + attestShareAtDefaults,
      metSteadyWithGas: costPerUnitShare * DEFAULT_CHALLENGE_SHARE + attestShareAtDefaults < GOAL_SHARE,
      newcomerShare: DEFAULT_NEWCOMER_CHALLENGE_SHARE,
      newcomerRequests: NEWCOMER_REQUESTS,
      steadyCost: costPerUnitShare * DEFAULT_CHALLENGE_SHARE,
      newcomerCost: costPerUnitShare * DEFAULT_NEWCOMER_CHALLENGE_SHARE,
      /** Challenges the newcomer phase sends beyond the steady share, once per provider and gateway start. */
      newcomerExtraChallenges: (DEFAULT_NEWCOMER_CHALLENGE_SHARE - DEFAULT_CHALLENGE_SHARE) * NEWCOMER_REQUESTS,
      metSteady: costPerUnitShare * DEFAULT_CHALLENGE_SHARE < GOAL_SHARE,
    };
    // Honest answers flagged: the compute phase's re-runs, and the billing cheats' answers (stories260K's own, only the count inflated) judged different_output.
    const billingCheats = catchRates.filter((c) => c.label.includes("more billed"));
    const honestFlagged = {
      flagged: compute.honestFlagged + billingCheats.reduce((n, c) => n + (c.reasons.different_output ?? 0), 0),
      of: compute.samples + billingCheats.reduce((n, c) => n + c.challenges, 0),
    };
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      seconds: (performance.now() - started) / 1000,
      configuredShare: share,
      catchChallenges,
      challengeMaxDelayMs: 2_000,
      tolerance: DEFAULT_TOLERANCE,
      traffic: { ...traffic, bodies: undefined, errors: traffic.errors.slice(0, 10), errorCount: traffic.errors.length, meanUserCost },
      challenges: { ...challenges, measuredShare: sMeasured, measuredShare95: wilson(challenges.sent, traffic.served), meanChallengeCost },
      gatewaySpent,
      identity: { holds: traffic.userSpent + challenges.spent === gatewaySpent, told: traffic.userSpent, challenges: challenges.spent, gatewaySpent },
      validatorVerdictsInRun: captured.map((c) => ({ fraud: c.verdict.fraud, reason: c.verdict.reason, ms: c.ms })),
      compute,
      gas: { assumptions: { gasPriceWei: GAS_PRICE_WEI, nativePriceBaseUnits: NATIVE_PRICE_BASE_UNITS }, attest: { ...attest, baseUnits: gasInBaseUnits(attest.gas), perRequest: attestGasPerRequest }, cases: Object.fromEntries(Object.entries(cases).map(([k, v]) => [k, { ...v, baseUnits: gasInBaseUnits(v.total) }])) },
      honestFlagged,
      shares: { challengeSpend: challengeSpendShare, validatorCompute: validatorComputeShare, withoutGas: computeAndTrafficShare, metWithoutGas: computeAndTrafficShare < GOAL_SHARE, attestGas: attestShare, total: totalShare, goal: GOAL_SHARE, met: totalShare < GOAL_SHARE, shareForGoal },
      detection,
      defaults,
    };
    writeFileSync(join(import.meta.dirname, "results", "verification-cost.json"), JSON.stringify(result, (k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : bigintAsString(k, v)), 2) + "\n");
    return result;
  } finally {
    await verifier.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

type VerificationCostResult = Awaited<ReturnType<typeof benchVerificationCost>>;

/** Cost of verification (gas aside) per unit of challenge share, as a share of spend per 1% of share. */
function costPerUnit(result: Exclude<VerificationCostResult, { skipped: string }>): number {
  return result.challenges.measuredShare > 0 ? (result.shares.withoutGas / result.challenges.measuredShare) * 0.01 : 0;
}

/** The README's tables: what verification costs as a share of spend, and how soon each cheat is caught. */
export function renderVerificationCostTable(result: VerificationCostResult): string {
  if ("skipped" in result) return `_Not measured: ${result.skipped}._`;
  const pct = (v: number, digits = 2) => `${(v * 100).toFixed(digits)}%`;
  const int = (v: bigint | number) => (Number.isFinite(Number(v)) ? BigInt(Math.round(Number(v))).toLocaleString("en-US") : "never");
  const { traffic, challenges, compute, gas, shares } = result;
  const s = challenges.measuredShare;
  const caseRow = (name: "honest" | "fraud", c: { outcome: string; gas: GasRow[]; total: bigint; baseUnits: bigint } | undefined) => {
    if (!c) return `| gas of a ${name} case | not measured | | | |`;
    const parts = c.gas.map((r) => `${r.call} ${r.calls > 1 ? `${r.calls} × ${int(r.gas / BigInt(r.calls))}` : int(r.gas)}`).join(", ");
    const when =
      name === "honest"
        ? `a case opens only on a challenge judged fraud: for an honest provider only on a false positive (${compute.honestFlagged} of ${compute.samples} honest re-runs here, ${result.validatorVerdictsInRun.filter((v) => v.fraud).length} of ${result.validatorVerdictsInRun.length} validator verdicts in the run): 0 per request measured`
        : "once per caught provider (then suspended); paid by the reporter and the drawn validators, repaid from the slashed stake";
    return `| gas of one ${name} case (ended ${c.outcome}) | ${int(c.total)} gas = ${int(c.baseUnits)} base units* | ${parts} | ${when} | |`;
  };
  const lines = [
    `_Last run: ${result.date} on ${result.node}; ${traffic.served} of ${traffic.requests} paid completions (stories260K, 1 thread, sealed, every second one streamed, temperature 0.8, max_tokens 32/64/128/256) through a gateway with \`--challenge-share ${result.configuredShare}\` (challenges within ${result.challengeMaxDelayMs / 1000} s of their request), one provider, three staked validators re-running every challenge; validator rule: tolerance ${result.tolerance} logits. * = at an assumed ${Number(gas.assumptions.gasPriceWei) / 1e9} gwei gas price and a native coin at ${int(gas.assumptions.nativePriceBaseUnits / UNIT)} gUSD (not measured)._`,
    "",
    "| cost of verification | measured | baseline / derivation | share of the network's spend | goal |",
    "|---|---|---|---|---|",
    `| challenge traffic (the gateway's own paid requests) | ${challenges.sent} challenges sent (${challenges.scheduled} drawn, ${challenges.dropped} dropped; ${challenges.passed} passed, ${challenges.fraud} fraud) = **${pct(s)}** of requests (95%: ${pct(challenges.measuredShare95[0], 1)} to ${pct(challenges.measuredShare95[1], 1)}); ${int(challenges.spent)} base units (${int(challenges.meanChallengeCost)} each) | clients were told ${int(traffic.userSpent)} base units (${int(traffic.meanUserCost)} per request); gateway's channels spent ${int(result.gatewaySpent)} = the sum: ${result.identity.holds ? "holds" : "**MISMATCH**"}; configured share ${pct(result.configuredShare, 0)} | **${pct(shares.challengeSpend)}** | |`,
    `| validator compute | ${compute.meanValidatorCpuMs.toFixed(1)} ms CPU to re-run one challenge (median ${compute.medianValidatorCpuMs.toFixed(1)}, ${compute.samples} challenges, ${compute.fromRun} from the run, mean ${compute.meanOutputTokens.toFixed(0)} output tokens) | provider's own CPU to serve the same challenges: ${compute.meanProviderCpuMs.toFixed(1)} ms, ratio **${compute.validatorOverProvider.toFixed(2)}**; per user request of the run: ${compute.meanUserRequestCpuMs.toFixed(1)} ms | **${pct(shares.validatorCompute)}**, assuming a validator's compute costs what the provider's does and spend pays for the provider's compute (s × ${compute.meanValidatorCpuMs.toFixed(1)} ÷ ${compute.meanUserRequestCpuMs.toFixed(1)} ms) | |`,
    `| pass attestations on-chain (\`attestPasses\`, batched per validator and provider) | ${gas.attest.passes} passes in ${gas.attest.transactions} transactions, ${int(gas.attest.gas)} gas = ${int(gas.attest.baseUnits)} base units* | ${int(result.defaults.attestGasPerTransaction)} gas per transaction; here every pass of the run was attested at its end, one transaction per validator (${gas.attest.perRequest.toFixed(0)} gas per request served); at the defaults a transaction waits for ${result.defaults.attestMinPasses} passes (see below) | **${pct(shares.attestGas)}*** (as run) | |`,
    `| **total for an honest provider at the run's share (${pct(result.configuredShare, 0)}), gas aside** | | challenge traffic + validator compute (the defaults' total is below) | **${pct(shares.withoutGas)}** | < ${pct(shares.goal, 0)}: **${shares.metWithoutGas ? "met" : "not met"}** |`,
    `| **total at the run's share with the attestations' gas, as run*** | | + attestations at the assumed prices | **${pct(shares.total)}*** | < ${pct(shares.goal, 0)}: **${shares.met ? "met" : "not met"}** |`,
    caseRow("honest", gas.cases.honest as never),
    caseRow("fraud", gas.cases.fraud as never),
    "",
    `Detection per request a cheater serves: P(caught within n) = 1 − (1 − s·c)^n, s = ${pct(s)} measured above (${challenges.sent} of ${traffic.served}), c = caught per challenge, measured in this run on fresh challenges served by the cheating backend and re-run by the validator's verifier (up to ${result.catchChallenges} per cheat; fewer where its re-runs passed ${CHEAT_BUDGET_MS / 1000} s). Last column: the validator's CPU per re-run of that cheat's answers, against ${result.compute.medianValidatorCpuMs.toFixed(0)} ms for an honest one.`,
    "",
    `| cheat | c | n = ${HORIZONS.join(" | n = ")} | n for 99% | validator CPU per re-run, median (max) |`,
    `|---|---|${HORIZONS.map(() => "---|").join("")}---|---|`,
  ];
  for (const d of result.detection) {
    const never = d.caught === 0;
    lines.push(`| ${d.label} | ${d.caught}/${d.challenges}${never ? " (**never caught**)" : ""} | ${HORIZONS.map((n) => pct(d.caughtWithin[n]!, 1)).join(" | ")} | ${Number.isFinite(d.requestsFor99) ? int(d.requestsFor99) : "never"} | ${d.medianValidatorCpuMs.toFixed(0)} (${d.maxValidatorCpuMs.toFixed(0)}) ms |`);
  }
  if (shares.shareForGoal !== undefined) {
    const q = shares.shareForGoal;
    lines.push("", `At these costs per challenge, the largest challenge share whose traffic and validator compute stay under the ${pct(shares.goal, 0)} goal (gas aside) is about ${pct(q)}; at it a cheat caught in every challenge is caught with 99% probability within ${int(requestsFor(0.99, q))} requests, and Q8_0 (c = ${pct(result.detection.find((d) => d.label.includes("Q8_0"))?.rate ?? 0, 0)}) within ${int(requestsFor(0.99, q * (result.detection.find((d) => d.label.includes("Q8_0"))?.rate ?? 0)))}.`);
  }
  const d = result.defaults;
  const q8 = result.detection.find((x) => x.label.includes("Q8_0"))?.rate ?? 0;
  const escape = (c: number) => (1 - d.newcomerShare * c) ** d.newcomerRequests;
  lines.push(
    "",
    `**At the gateway's defaults** (\`--challenge-share ${d.share}\` steady, \`--challenge-share-new ${d.newcomerShare}\` for a provider's first ${d.newcomerRequests} requests through the gateway), projected from the cost per unit of share measured above (${pct(costPerUnit(result))} of spend per 1% of share, gas aside; every challenge is an independent paid request and re-run, so the cost scales with the share):`,
    "",
    "| phase | challenge share | cost of verification, gas aside | goal < 2% | a cheat caught in every challenge | Q8_0 (c = " + pct(q8, 0) + ") |",
    "|---|---|---|---|---|---|",
    `| steady (after a provider's first ${d.newcomerRequests} requests) | ${pct(d.share, 1)} | **${pct(d.steadyCost)}**; with the attestations' gas* **${pct(d.steadyTotalWithGas)}** | **${d.metSteady ? "met" : "not met"}**; with gas* **${d.metSteadyWithGas ? "met" : "not met"}** | 95% within ${int(requestsFor(0.95, d.share))}, 99% within ${int(requestsFor(0.99, d.share))} requests | 99% within ${int(requestsFor(0.99, d.share * q8))} |`,
    `| newcomer (a provider's first ${d.newcomerRequests} requests) | ${pct(d.newcomerShare, 0)} | ${pct(d.newcomerCost)} of those requests' spend: ${d.newcomerExtraChallenges.toFixed(1)} challenges more than the steady share, once per provider per gateway start | | escapes its first ${d.newcomerRequests} with probability ${escape(1).toExponential(1)} | ${escape(q8).toExponential(1)} |`,
  );
  lines.push(
    "",
    `Attestations at the defaults (\`gotong validator start\`: \`--attest-min ${d.attestMinPasses}\`, \`--attest-max-age ${d.attestMaxAgeHours * 3600}\`): a validator attests a provider's passes once ${d.attestMinPasses} are pending or the oldest is ${d.attestMaxAgeHours} h old, so at the steady share a request carries at most ${d.share} × ${int(d.attestGasPerTransaction)} ÷ ${d.attestMinPasses} = ${d.attestGasPerRequest.toFixed(1)} gas of attestations = ${pct(d.attestShare)}* of this run's mean request (${int(traffic.meanUserCost)} base units), wherever a provider's traffic fills the threshold within the age: about ${int(d.requestsPerDayForThreshold)} requests a day to it across ${d.validators} validators. Below that each validator sends one transaction a day per provider it checked (${int(d.attestGasPerTransaction)} gas = ${int(d.attestGasPerTransaction * Number(gas.attest.baseUnits) / Math.max(1, Number(gas.attest.gas)))} base units*), whatever the traffic.`,
  );
  lines.push("", `Honest answers flagged as fraud: ${result.honestFlagged.flagged} of ${result.honestFlagged.of} (the re-runs of the compute measurement, and the billing cheats' answers, which are stories260K's own with only a count inflated).`);
  return lines.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await benchVerificationCost({ requests: process.argv[2] ? Number(process.argv[2]) : undefined });
  if ("skipped" in result) {
    console.log(`verification-cost bench skipped: ${result.skipped}`);
    process.exit(0);
  }
  console.log(JSON.stringify({ ...result, compute: { ...result.compute, samplesDetail: undefined } }, (k, v) => bigintAsString(k, v), 2));
  const table = renderVerificationCostTable(result);
  console.log(table);
  fillReadme("verification-cost-bench", table);
  process.exit(0);
}
