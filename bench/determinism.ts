/**
 * How exact llama.cpp's greedy output is on these machines, and how well the validator's re-run
 * (src/verification) tells an honest provider from a cheating one.
 *
 * - Honest: challenges (createChallenge) served by the provider's own backend (createLlamaBackend)
 *   with 1 thread, again with 1 thread (a repeated run), with 2 threads, and four at a time in one
 *   context of four sequences (`--parallel 4`), then verified by a 1-thread validator. Reported: the
 *   largest logit margin any honest token fell below the validator's top token (the noise), and the
 *   false-positive rate at the tolerance chosen (it must be 0).
 * - Cheats, on the same challenges, verified against stories260K's weights: another model
 *   (llama-2-tiny-random), stories260K requantised to F16, Q8_0 and Q4_0, stories260K with a prefix
 *   injected before the prompt (a system prompt a provider adds), and honest answers whose receipt
 *   bills one more output or input token. Reported: the detection rate per challenge at the chosen
 *   tolerance and at others, and the median of each answer's largest margin.
 *
 *   npx tsx bench/determinism.ts [challenges]   writes bench/results/determinism.json and the README's table (also part of `npm run bench`)
 */
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { createLlamaBackend } from "../src/provider/createLlamaBackend.ts";
import type { InferenceBackend } from "../src/provider/backend.ts";
import { createChallenge, createVerifier, DEFAULT_TOLERANCE, type Verdict, type Verifier } from "../src/verification/index.ts";
import { serveBody, signEvidence, type Served } from "../src/verification/evidenceFixtures.ts";
import { quantizeGguf, type QuantTarget } from "../src/verification/quantizeGguf.ts";
import { haveSharedModels, sharedModelPath, SHARED_MODELS } from "../test/fixtures/model/sharedModels.ts";
import { median } from "./median.ts";
import { fillReadme } from "./fillReadme.ts";

const TOLERANCES = [0.005, 0.01, 0.02, 0.05, 0.1, 0.5] as const;
const INJECTED_PREFIX = "Here is a story for children:\n";
const ACCOUNT = privateKeyToAccount(`0x${"ab".repeat(32)}`);
const DOMAIN = { chainId: 31337, verifyingContract: `0x${"22".repeat(20)}` as Hex };

type Body = Record<string, unknown>;
type Case = { body: Body; served: Served; verdict: Verdict };

/** Serves each body on `backend`, `parallel` at a time (the provider's batching when above 1). */
async function serveAll(backend: InferenceBackend, bodies: Body[], parallel: number, transform?: (body: Body) => Body): Promise<Served[]> {
  const out: Served[] = new Array(bodies.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < bodies.length) {
        const i = next++;
        out[i] = await serveBody(backend, transform ? transform(bodies[i]!) : bodies[i]!);
      }
    }),
  );
  return out;
}

async function verifyAll(verifier: Verifier, weightsHash: Hex, bodies: Body[], served: Served[], bill: (s: Served) => { inputTokens: number; outputTokens: number } = (s) => s): Promise<Case[]> {
  const cases: Case[] = [];
  for (let i = 0; i < bodies.length; i++) {
    const evidence = await signEvidence(ACCOUNT, DOMAIN, { body: bodies[i]!, text: served[i]!.text, ...bill(served[i]!), weightsHash });
    cases.push({ body: bodies[i]!, served: served[i]!, verdict: await verifier.verify(evidence, { domain: DOMAIN }) });
  }
  return cases;
}

const maxMargin = (v: Verdict) => Math.max(0, ...(v.margins ?? []));

function summarize(cases: Case[]) {
  const margins = cases.map((c) => maxMargin(c.verdict));
  return {
    challenges: cases.length,
    tokens: cases.reduce((n, c) => n + c.served.outputTokens, 0),
    flaggedAtDefault: cases.filter((c) => c.verdict.fraud).length,
    rateAtDefault: cases.filter((c) => c.verdict.fraud).length / cases.length,
    reasons: Object.fromEntries([...new Set(cases.map((c) => c.verdict.reason))].map((r) => [r, cases.filter((c) => c.verdict.reason === r).length])),
    largestMargin: Math.max(...margins),
    medianLargestMargin: median(margins),
    medianAgreement: median(cases.map((c) => c.verdict.agreement)),
    // Output divergence only (counts aside): flagged iff some position fell further than the tolerance.
    detectionByTolerance: Object.fromEntries(TOLERANCES.map((t) => [t, margins.filter((m) => m > t).length / cases.length])),
  };
}

/** Runs the measurements; `challenges` per configuration. */
export async function benchDeterminism(options: { challenges?: number } = {}) {
  if (!haveSharedModels()) return { skipped: "the shared models (stories260K, llama-2-tiny-random) are absent" };
  const n = options.challenges ?? 40;
  const storiesPath = sharedModelPath("stories260K");
  const storiesHash: Hex = `0x${SHARED_MODELS.stories260K.sha256}`;
  const tinyPath = sharedModelPath("tinyRandom");
  const tinyHash: Hex = `0x${SHARED_MODELS.tinyRandom.sha256}`;
  const dir = mkdtempSync(join(tmpdir(), "gotong-determinism-"));
  const started = performance.now();
  try {
    const honest: Record<string, ReturnType<typeof summarize>> = {};
    const cheats: Record<string, ReturnType<typeof summarize>> = {};
    for (const [name, path, hash] of [["stories260K", storiesPath, storiesHash], ["llama-2-tiny-random", tinyPath, tinyHash]] as const) {
      const bodies = Array.from({ length: n }, () => createChallenge({ model: name, chatTemplate: false }).body);
      const verifier = await createVerifier({ path, weightsHash: hash }, { threads: 1 });
      try {
        for (const [label, threads, parallel] of [["threads 1", 1, 1], ["threads 1, repeated", 1, 1], ["threads 2", 2, 1], ["4 sequences batched", 1, 4]] as const) {
          const backend = await createLlamaBackend({ modelPath: path, threads, parallel });
          try {
            const served = await serveAll(backend, bodies, parallel);
            honest[`${name}, ${label}`] = summarize(await verifyAll(verifier, hash, bodies, served));
            console.error(`determinism: honest ${name} ${label}: largest margin ${honest[`${name}, ${label}`]!.largestMargin}`);
          } finally {
            await backend.dispose();
          }
        }
        if (name !== "stories260K") continue;
        const cheaters: [string, string, ((b: Body) => Body) | undefined][] = [["another model (llama-2-tiny-random)", tinyPath, undefined]];
        for (const target of ["F16", "Q8_0", "Q4_0"] as QuantTarget[]) {
          const file = join(dir, `stories260K-${target}.gguf`);
          await quantizeGguf(storiesPath, file, target);
          cheaters.push([`stories260K requantised to ${target}`, file, undefined]);
        }
        cheaters.push([`injected prefix ${JSON.stringify(INJECTED_PREFIX)}`, storiesPath, (b) => ({ ...b, prompt: INJECTED_PREFIX + String(b.prompt) })]);
        for (const [label, file, transform] of cheaters) {
          const backend = await createLlamaBackend({ modelPath: file, threads: 1 });
          try {
            const served = await serveAll(backend, bodies, 1, transform);
            // The cheat bills what it evaluated: an injected prefix's tokens too.
            cheats[label] = summarize(await verifyAll(verifier, hash, bodies, served));
            console.error(`determinism: cheat ${label}: caught ${cheats[label]!.flaggedAtDefault}/${n}`);
          } finally {
            await backend.dispose();
          }
        }
        const backend = await createLlamaBackend({ modelPath: storiesPath, threads: 1 });
        try {
          const served = await serveAll(backend, bodies, 1);
          cheats["one output token more billed"] = summarize(await verifyAll(verifier, hash, bodies, served, (s) => ({ ...s, outputTokens: s.outputTokens + 1 })));
          cheats["one input token more billed"] = summarize(await verifyAll(verifier, hash, bodies, served, (s) => ({ ...s, inputTokens: s.inputTokens + 1 })));
        } finally {
          await backend.dispose();
        }
      } finally {
        await verifier.dispose();
      }
    }
    const honestLargest = Math.max(...Object.values(honest).map((h) => h.largestMargin));
    const falsePositives = Object.values(honest).reduce((s, h) => s + h.flaggedAtDefault, 0);
    const result = {
      date: new Date().toISOString(),
      challengesPerConfiguration: n,
      tolerance: DEFAULT_TOLERANCE,
      honestLargestMargin: honestLargest,
      honestFalsePositives: falsePositives,
      honestChallenges: Object.values(honest).reduce((s, h) => s + h.challenges, 0),
      seconds: (performance.now() - started) / 1000,
      honest,
      cheats,
    };
    writeFileSync(join(import.meta.dirname, "results", "determinism.json"), JSON.stringify(result, null, 2) + "\n");
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type DeterminismResult = Awaited<ReturnType<typeof benchDeterminism>>;

/** The README's table of the verification figures. */
export function renderDeterminismTable(result: DeterminismResult): string {
  if ("skipped" in result) return `_Not measured: ${result.skipped}._`;
  const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
  // A token outside the validator's top 40 has no finite margin (Infinity, written to JSON as null).
  const margin = (v: number | null) => (v === null || !Number.isFinite(v) ? "outside top 40" : v.toFixed(3));
  const rows = [
    `_Last run: ${result.date}; ${result.challengesPerConfiguration} random challenges per row (completions, temperature 0), validator on 1 thread, tolerance ${result.tolerance} logits. Honest: ${result.honestFalsePositives} of ${result.honestChallenges} flagged, largest honest margin ${result.honestLargestMargin}._`,
    "",
    `| served | flagged at ${result.tolerance} | largest margin (median per answer) | median agreement | ${TOLERANCES.map((t) => `flagged at ${t}`).join(" | ")} |`,
    `|---|---|---|---|${TOLERANCES.map(() => "---|").join("")}`,
  ];
  for (const [label, s] of [...Object.entries(result.honest).map(([k, v]) => [`honest ${k}`, v] as const), ...Object.entries(result.cheats)]) {
    rows.push(`| ${label} | **${pct(s.rateAtDefault)}** | ${margin(s.largestMargin)} (${margin(s.medianLargestMargin)}) | ${s.medianAgreement.toFixed(3)} | ${TOLERANCES.map((t) => pct(s.detectionByTolerance[t]!)).join(" | ")} |`);
  }
  return rows.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await benchDeterminism({ challenges: process.argv[2] ? Number(process.argv[2]) : undefined });
  console.log(JSON.stringify(result, null, 2));
  console.log(renderDeterminismTable(result));
  fillReadme("determinism-bench", renderDeterminismTable(result));
}
