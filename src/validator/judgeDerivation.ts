import { createHash } from "node:crypto";
import type { Hex } from "viem";
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { computeModelFingerprint, VOCABULARY_KEY } from "../model/computeModelFingerprint.ts";
import type { ModelFingerprint } from "../model/modelManifest.ts";
import { readGgufHeader } from "../model/readGgufHeader.ts";
import { createPromptRenderer } from "../model/createPromptRenderer.ts";
import { loadLlamaModel } from "../provider/loadLlamaModel.ts";
import { createChallenge, type RandomSource } from "../verification/challengePrompts.ts";
import { compareOutputs } from "../verification/compareOutputs.ts";

export type DerivationJudgement = {
  derivative: boolean;
  /** "same_family" test: architecture, tensor names+shapes, vocabulary equal (computeModelFingerprint). */
  sameFingerprint: boolean;
  /** Fraction of teacher-forced positions where the child's choice agreed with the parent's greedy output (0..1). */
  agreement: number;
  positions: number;
  /** Positions where the child's choice agreed (within `tolerance`), over all prompts. */
  agreed: number;
  /** Prompts the parent was run on (0 when the fingerprints already decided). */
  prompts: number;
  reason: "derivative" | "different_architecture" | "different_vocabulary" | "different_tensors" | "outputs_differ";
  detail: string; // one human sentence
};

export type JudgeDerivationOptions = {
  /** The dispute's seed: every validator derives the same prompts from it. */
  seed: Hex | string;
  /** Prompts drawn from the seed. Default DEFAULT_DERIVATION_PROMPTS. */
  prompts?: number;
  /** Tokens the parent writes per prompt. Default DEFAULT_DERIVATION_MAX_TOKENS. */
  maxTokens?: number;
  /** Least agreement for "derivative". Default DEFAULT_DERIVATION_THRESHOLD. */
  threshold?: number;
  /** Logit margin within which the child's token counts as the parent's. Default DEFAULT_DERIVATION_TOLERANCE. */
  tolerance?: number;
  /** CPU threads for llama.cpp. Default 1: on 2-core machines the default setting is ~600x slower. */
  threads?: number;
};

export const DEFAULT_DERIVATION_PROMPTS = 8;
export const DEFAULT_DERIVATION_MAX_TOKENS = 48;

/**
 * Logit margin for "the child would have written the parent's token". Much wider than the
 * verifier's DEFAULT_TOLERANCE (0.02, the floating-point noise between two runs of the *same*
 * weights): here a quantisation must pass, and its rounding moves near-ties by tenths of a logit.
 * Measured on stories260K, 1 thread, 8 prompts × 48 tokens (about 385 positions), seeds 0x01, 0x02,
 * 0x03; agreement at tolerance 0 / 0.5 / 1:
 *   F16                          1.000 / 1.000 / 1.000 (every seed)
 *   Q8_0                         0.987–0.992 / 1.000 / 1.000
 *   Q4_0                         0.827–0.862 / 0.894–0.938 / 0.925–0.982
 *   same shapes, shuffled values 0.003–0.015 / 0.003–0.015 / 0.008–0.018
 *   F32 + Gaussian noise of 5% of each tensor's spread (a stand-in for a light fine-tune)
 *                                0.816–0.901 / 0.915–0.956 / 0.959–0.977
 *   ... of 10%                   0.554–0.644 / 0.651–0.724 / 0.707–0.776
 *   ... of 20%                   0.107–0.122 / 0.133–0.161 / 0.186–0.219
 * 0.5 makes Q8_0 agree everywhere and lifts Q4_0 about seven points, while an unrelated model gains
 * nothing (its tokens are not near-ties of the parent's, they are far below); 1 would widen the
 * window for unrelated models that happen to rank the parent's token second.
 */
export const DEFAULT_DERIVATION_TOLERANCE = 0.5;

/**
 * Least agreement for "derivative". With the measurements above (tolerance 0.5): Q8_0 1.000, Q4_0
 * 0.894 at worst, 5% weight noise 0.915 at worst, 10% noise 0.651–0.724, an unrelated model of the
 * same shapes 0.015 at most. 0.8 passes the coarsest quantisation measured (Q4_0: a quantisation is
 * a derivative) with a margin of nine points, and judges "derivative" a perturbation up to about 5–8%
 * of the weights' spread. Not measured, for want of a second model trained on the same data: two
 * independently trained models of one configuration agree on many easy tokens ("the", "."), far
 * more than shuffled weights do, so the threshold is kept high rather than set just above 0.015;
 * a dispute between such models should be measured before this number is lowered.
 */
export const DEFAULT_DERIVATION_THRESHOLD = 0.8;

/** Keeps each validator's prompt stream apart from other uses of the same seed. */
const PROMPT_DOMAIN = "gotong/derivation-prompts/v1";

/**
 * Decides a derivation dispute: is CHILD (a GGUF) a derivative of PARENT (a GGUF), that is a
 * quantisation, re-upload or light fine-tune of it? First the fingerprints (architecture, tensor
 * names and shapes, vocabulary; header reads only): any difference decides "not derivative" without
 * running a model. So merges, adapters baked in with other shapes, pruned or grown models are out
 * of reach of this test: it only judges models of the parent's exact shapes. Then the outputs: the
 * parent writes greedy raw completions of prompts drawn from `seed`, and each is teacher-forced on
 * the child (compareOutputs); `agreement` is the share of positions where the child's own choice was
 * the parent's token within `tolerance` logits. Deterministic given (parent, child, seed, options),
 * so honest validators vote alike, provided they run the same prompt grammar (challengePrompts: a
 * change to its word lists changes the prompts a seed draws) and CPU llama.cpp at the same thread
 * count; their floating-point noise (~0.003 logits) is far inside the 0.5 tolerance anyway.
 *
 * @example const judgement = await judgeDerivation("parent.gguf", "child.gguf", { seed: disputeId });
 *          if (judgement.derivative) console.log(judgement.detail);
 */
export async function judgeDerivation(parentPath: string, childPath: string, options: JudgeDerivationOptions): Promise<DerivationJudgement> {
  const threshold = options.threshold ?? DEFAULT_DERIVATION_THRESHOLD;
  const [parent, child] = [await readFingerprint(parentPath), await readFingerprint(childPath)];
  const mismatch = fingerprintMismatch(parent, child);
  if (mismatch) {
    return { derivative: false, sameFingerprint: false, agreement: 0, positions: 0, agreed: 0, prompts: 0, reason: mismatch.reason, detail: mismatch.detail };
  }
  const prompts = derivePrompts(options.seed, options.prompts ?? DEFAULT_DERIVATION_PROMPTS);
  const maxTokens = options.maxTokens ?? DEFAULT_DERIVATION_MAX_TOKENS;
  const threads = options.threads ?? 1;
  const answers = await withModel(parentPath, threads, (model, sequence) => writeAnswers(model, sequence, prompts, maxTokens));
  const tolerance = options.tolerance ?? DEFAULT_DERIVATION_TOLERANCE;
  const { agreed, positions } = await withModel(childPath, threads, (model, sequence) => scoreAnswers(model, sequence, answers, tolerance));
  const agreement = positions === 0 ? 0 : agreed / positions;
  const derivative = agreement >= threshold;
  const share = `${agreed} of ${positions} positions (${(agreement * 100).toFixed(1)}%) over ${prompts.length} prompts`;
  return {
    derivative,
    sameFingerprint: true,
    agreement,
    positions,
    agreed,
    prompts: prompts.length,
    reason: derivative ? "derivative" : "outputs_differ",
    detail: derivative
      ? `Same fingerprint, and the child follows the parent's greedy output on ${share}, at least the threshold ${threshold}.`
      : `Same fingerprint, but the child follows the parent's greedy output on only ${share}, below the threshold ${threshold}.`,
  };
}

/** A file's fingerprint, or an error naming the file when it has none (no architecture in its header). */
async function readFingerprint(path: string): Promise<ModelFingerprint> {
  let header;
  try {
    header = await readGgufHeader(path, { keepArrays: [VOCABULARY_KEY] });
  } catch (cause) {
    throw new Error(`${path} is not a readable GGUF model: ${(cause as Error).message}`, { cause });
  }
  const fingerprint = computeModelFingerprint([header]);
  if (!fingerprint) throw new Error(`${path} is not a GGUF model: its header names no general.architecture`);
  return fingerprint;
}

/** Why two fingerprints rule out derivation, or undefined when they are the same family. Base-model fields are not compared: a child may declare or hide them. */
function fingerprintMismatch(parent: ModelFingerprint, child: ModelFingerprint): { reason: DerivationJudgement["reason"]; detail: string } | undefined {
  if (parent.architecture !== child.architecture) {
    return { reason: "different_architecture", detail: `The child's architecture is ${child.architecture}, the parent's ${parent.architecture}: not a derivative this test can see.` };
  }
  if (parent.vocabularyHash !== child.vocabularyHash) {
    return { reason: "different_vocabulary", detail: `The child's vocabulary (${child.vocabularySize ?? "none"} tokens) is not the parent's (${parent.vocabularySize ?? "none"} tokens).` };
  }
  if (parent.tensorsHash !== child.tensorsHash) {
    return { reason: "different_tensors", detail: `The child's tensor names or shapes (${child.tensorCount} tensors) are not the parent's (${parent.tensorCount}); merges and adapters of other shapes are out of reach of this test.` };
  }
  return undefined;
}

/** `count` completion prompts (story openings, challengePrompts' grammar) drawn from a PRNG seeded by `seed`. */
export function derivePrompts(seed: Hex | string, count: number): string[] {
  const random = createSeededRandom(`${PROMPT_DOMAIN}\u0000${seed}`);
  const prompts: string[] = [];
  for (let i = 0; i < count; i++) {
    const { body } = createChallenge({ model: "derivation", chatTemplate: false }, random);
    prompts.push(String(body.prompt));
  }
  return prompts;
}

/**
 * A uniform integer source from sha256 in counter mode over `seed`: the same stream on every
 * machine. Rejection sampling on 48-bit draws, so no value is likelier than another.
 */
export function createSeededRandom(seed: string): RandomSource {
  let counter = 0;
  let pool = Buffer.alloc(0);
  const draw48 = (): number => {
    if (pool.length < 6) {
      const block = createHash("sha256").update(seed).update(`\u0000${counter++}`).digest();
      pool = Buffer.concat([pool, block]);
    }
    const value = pool.readUIntBE(0, 6);
    pool = pool.subarray(6);
    return value;
  };
  return (n) => {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 48) throw new RangeError(`cannot draw from [0, ${n})`);
    const limit = 2 ** 48 - (2 ** 48 % n);
    for (;;) {
      const value = draw48();
      if (value < limit) return value % n;
    }
  };
}

/** Loads a model on one sequence (batch 32, as the verifier does), runs `use`, and frees both whatever happens. */
async function withModel<T>(path: string, threads: number, use: (model: LlamaModel, sequence: LlamaContextSequence) => Promise<T>): Promise<T> {
  const { model } = await loadLlamaModel({ modelPath: path });
  try {
    const context = await model.createContext({ contextSize: Math.min(model.trainContextSize, 2048), sequences: 1, threads, batchSize: 32 });
    try {
      return await use(model, context.getSequence());
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

type ParentAnswer = { prompt: string; text: string; tokens: number; endedByLength: boolean };

/** The parent's greedy raw completion of each prompt (no chat template: completion models have none). */
async function writeAnswers(model: LlamaModel, sequence: LlamaContextSequence, prompts: readonly string[], maxTokens: number): Promise<ParentAnswer[]> {
  const render = createPromptRenderer(model);
  const answers: ParentAnswer[] = [];
  for (const prompt of prompts) {
    await sequence.clearHistory();
    const written: Token[] = [];
    let endedByLength = true;
    for await (const token of sequence.evaluate(render({ kind: "completion", prompt }).tokens, { temperature: 0 })) {
      if (model.isEogToken(token)) {
        endedByLength = false;
        break;
      }
      written.push(token);
      if (written.length >= maxTokens) break;
    }
    answers.push({ prompt, text: model.detokenize(written, false), tokens: written.length, endedByLength });
  }
  return answers;
}

/** Teacher-forces each parent answer on the child and sums the positions where the child agreed. */
async function scoreAnswers(model: LlamaModel, sequence: LlamaContextSequence, answers: readonly ParentAnswer[], tolerance: number): Promise<{ agreed: number; positions: number }> {
  const render = createPromptRenderer(model);
  let agreed = 0;
  let positions = 0;
  for (const answer of answers) {
    const { tokens: prompt } = render({ kind: "completion", prompt: answer.prompt });
    // An answer cut by length is not judged at its end (the parent did not choose to stop there):
    // its token count is the cap. One the parent ended itself is: the child must choose to end too.
    const comparison = await compareOutputs(model, sequence, { prompt, answer: answer.text, maxTokens: answer.endedByLength ? answer.tokens : Number.MAX_SAFE_INTEGER, stop: [], tolerance });
    agreed += comparison.agreed;
    positions += comparison.positions;
  }
  return { agreed, positions };
}
