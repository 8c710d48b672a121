import type { Hex } from "viem";
import type { LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import { loadLlamaModel } from "../provider/loadLlamaModel.ts";
import { createPromptRenderer, type PromptInput, type RenderedPrompt } from "../model/createPromptRenderer.ts";
import { hashFile } from "../model/hashFile.ts";
import { parseGenerationRequest } from "../protocol/parseGenerationRequest.ts";
import { promptInputOf } from "../protocol/toolsPrompt.ts";
import type { GenerationRequest } from "../protocol/generationRequest.ts";
import type { VoucherDomain } from "../protocol/voucher.ts";
import { GotongError } from "../common/errors.ts";
import { checkEvidence, type Evidence } from "./evidence.ts";
import { compareOutputs, DEFAULT_TOLERANCE } from "./compareOutputs.ts";

/** The weights a validator re-runs evidence on: a local GGUF and the hash it must have. */
export type VerifiedModel = { path: string; weightsHash: Hex };

/**
 * Why a verdict is what it is. Fraud: `different_output`, `inflated_output_tokens`,
 * `inflated_input_tokens`. Not fraud, nothing judged: `weights_mismatch` (the validator's file is not
 * the receipt's weights), `bad_evidence` (signature, hashes or request malformed), `unverifiable`
 * (the request was not deterministic: temperature above 0, several choices, tools, a grammar,
 * penalties, or it does not fit the validator's context).
 */
export type VerdictReason = "ok" | "different_output" | "inflated_output_tokens" | "inflated_input_tokens" | "weights_mismatch" | "bad_evidence" | "unverifiable";

export type Verdict = {
  fraud: boolean;
  reason: VerdictReason;
  /** Share of compared positions where the provider's token was the validator's choice (1 when nothing was compared). */
  agreement: number;
  positions: number;
  /** Answer token index of the first disagreement beyond the tolerance. */
  firstMismatch?: number;
  /** A sentence for logs and the validator's HTTP answer. */
  detail: string;
  /** The validator's own counts, beside the receipt's (absent when nothing was re-run). */
  counted?: { inputTokens: number; outputTokens: number };
  /** Per position, how far below the validator's top the provider's token fell (logits); for benches. */
  margins?: number[];
};

export type VerifyOptions = {
  /** When given, the receipt signature and the plaintext hashes are checked first (checkEvidence). */
  domain?: VoucherDomain;
  /** Logit margin tolerated per position; default DEFAULT_TOLERANCE (measured in bench/determinism.ts). */
  tolerance?: number;
};

export type VerifierOptions = {
  /** CPU threads. Default 1: fastest on small shared machines, and what the tolerance was measured with. */
  threads?: number;
  /** Context window; default the model's training context capped at 4096, as the provider's default. */
  contextSize?: number;
};

/** A loaded, hash-checked model that re-runs evidence one case at a time. */
export type Verifier = {
  verify(evidence: Evidence, options?: VerifyOptions): Promise<Verdict>;
  /** The prompt exactly as the provider renders it for a request body, and the parsed request. */
  render(body: Record<string, unknown>): { request: GenerationRequest; prompt: RenderedPrompt };
  readonly model: LlamaModel;
  dispose(): Promise<void>;
};

/**
 * Loads `model.path` after checking its sha256 equals `model.weightsHash` (a `weights_hash_mismatch`
 * GotongError otherwise), and returns a verifier over one llama.cpp sequence. Cases are re-run one
 * after another (a queue), each on an emptied sequence, so one case never sees another's cache.
 *
 * @example const verifier = await createVerifier({ path, weightsHash }); const verdict = await verifier.verify(evidence);
 */
export async function createVerifier(model: VerifiedModel, options: VerifierOptions = {}): Promise<Verifier> {
  const actual = `0x${await hashFile(model.path)}`;
  if (actual !== model.weightsHash.toLowerCase()) {
    throw new GotongError(`The file ${model.path} has sha256 ${actual}, not the weights hash ${model.weightsHash} it is meant to verify`, {
      code: "weights_hash_mismatch",
      hint: "Point the validator at the GGUF whose hash is registered for the model (gotong model pull).",
    });
  }
  const { model: llamaModel } = await loadLlamaModel({ modelPath: model.path });
  const contextSize = options.contextSize ?? Math.min(llamaModel.trainContextSize, 4096);
  // Prompts in steps of 32 tokens, as the provider's default batch (createLlamaBackend): the same
  // shapes of matrix products, so the same rounding, wherever the provider also ran alone.
  const context: LlamaContext = await llamaModel.createContext({ contextSize, sequences: 1, threads: options.threads ?? 1, batchSize: 32 });
  const sequence: LlamaContextSequence = context.getSequence();
  const renderPrompt = createPromptRenderer(llamaModel);
  const render = (body: Record<string, unknown>) => {
    const request = parseGenerationRequest(Array.isArray(body.messages) ? "chat" : "completion", body);
    const input: PromptInput = promptInputOf(request);
    return { request, prompt: renderPrompt(input) };
  };
  let queue: Promise<unknown> = Promise.resolve();

  const run = async (evidence: Evidence, opts: VerifyOptions): Promise<Verdict> => {
    const nothing = (fraud: boolean, reason: VerdictReason, detail: string): Verdict => ({ fraud, reason, agreement: 1, positions: 0, detail });
    if (opts.domain) {
      const check = await checkEvidence(evidence, opts.domain);
      if (!check.ok) return nothing(false, "bad_evidence", `the evidence's ${check.reason === "signature" ? "receipt is not signed by the provider" : `${check.reason === "request_hash" ? "request" : "response"} does not hash to the receipt`}`);
    }
    const { receipt } = evidence;
    if (receipt.weightsHash.toLowerCase() !== model.weightsHash.toLowerCase()) {
      return nothing(false, "weights_mismatch", `the receipt names weights ${receipt.weightsHash}, this validator holds ${model.weightsHash}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(evidence.request).toString("utf8"));
    } catch {
      return nothing(false, "bad_evidence", "the request is not JSON");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) return nothing(false, "bad_evidence", "the request is not a JSON object");
    let rendered: ReturnType<typeof render>;
    try {
      rendered = render(body as Record<string, unknown>);
    } catch (cause) {
      return nothing(false, "bad_evidence", `the provider would have refused the request: ${(cause as Error).message}`);
    }
    const { request, prompt } = rendered;
    const why = nondeterministic(request);
    if (why) return nothing(false, "unverifiable", `the request is not deterministic (${why})`);
    const maxTokens = request.maxTokens ?? contextSize - prompt.tokens.length;
    if (prompt.tokens.length + maxTokens > contextSize) return nothing(false, "unverifiable", `the prompt (${prompt.tokens.length} tokens) and max_tokens ${maxTokens} exceed this validator's context of ${contextSize}`);
    const tolerance = opts.tolerance ?? DEFAULT_TOLERANCE;
    const comparison = await compareOutputs(llamaModel, sequence, { prompt: prompt.tokens, answer: evidence.response, maxTokens, stop: [...prompt.stopTriggers, ...request.stop], tolerance, untilMismatch: true });
    const counted = { inputTokens: prompt.tokens.length, outputTokens: comparison.outputTokens };
    const base = { agreement: comparison.positions === 0 ? 1 : comparison.agreed / comparison.positions, positions: comparison.positions, firstMismatch: comparison.firstMismatch, counted, margins: comparison.margins };
    if (comparison.firstMismatch !== undefined) {
      const margin = comparison.margins[comparison.firstMismatch]!;
      const where = comparison.firstMismatch === comparison.outputTokens ? "at the answer's end (the model would have gone on)" : `at answer token ${comparison.firstMismatch}`;
      return { ...base, fraud: true, reason: "different_output", detail: `the answer leaves these weights' greedy choice ${where}, by ${margin.toFixed(3)} logits (tolerance ${tolerance}); the ${comparison.agreed} positions before it agree (the rest is not compared)` };
    }
    // The provider stops billing at max_tokens (generateTokens), near-ties or not.
    const allowed = Math.min(comparison.outputTokens + comparison.countAllowance, request.maxTokens ?? Infinity);
    if (receipt.outputTokens > BigInt(allowed)) {
      return { ...base, fraud: true, reason: "inflated_output_tokens", detail: `the receipt bills ${receipt.outputTokens} output tokens; the answer is ${comparison.outputTokens} tokens (at most ${allowed} allowing for the near-ties and stop string seen in it, and max_tokens)` };
    }
    if (receipt.inputTokens > BigInt(counted.inputTokens)) {
      return { ...base, fraud: true, reason: "inflated_input_tokens", detail: `the receipt bills ${receipt.inputTokens} input tokens; the prompt renders to ${counted.inputTokens}` };
    }
    return { ...base, fraud: false, reason: "ok", detail: `all ${comparison.positions} positions agree within ${tolerance} logits; counts within the validator's own` };
  };

  return {
    model: llamaModel,
    render,
    verify(evidence, opts = {}) {
      const result = queue.then(() => run(evidence, opts));
      queue = result.catch(() => undefined);
      return result;
    },
    async dispose() {
      await queue;
      await context.dispose();
      await llamaModel.dispose();
    },
  };
}

const verifiers = new Map<string, Promise<Verifier>>();

/**
 * Re-runs evidence on the hash-verified weights and says whether the provider served them: the
 * answer's tokens against the validator's own greedy choice at each position (within a measured
 * logit tolerance), and the receipt's token counts against the validator's own count. The model is
 * loaded (and its hash checked) once per path and kept for later calls; `disposeVerifiers` frees them.
 *
 * @example const verdict = await verifyEvidence(evidence, { path: "stories260K.gguf", weightsHash }, { domain });
 */
export async function verifyEvidence(evidence: Evidence, model: VerifiedModel, options: VerifyOptions & VerifierOptions = {}): Promise<Verdict> {
  const key = `${model.path}\n${model.weightsHash.toLowerCase()}\n${options.threads ?? 1}\n${options.contextSize ?? ""}`;
  let verifier = verifiers.get(key);
  if (!verifier) {
    verifier = createVerifier(model, options);
    verifiers.set(key, verifier);
    verifier.catch(() => verifiers.delete(key));
  }
  return (await verifier).verify(evidence, options);
}

/** Frees the models verifyEvidence loaded. */
export async function disposeVerifiers(): Promise<void> {
  const all = [...verifiers.values()];
  verifiers.clear();
  await Promise.all(all.map(async (v) => (await v.catch(() => undefined))?.dispose()));
}

/** Why a request's answer cannot be re-run exactly, or undefined when it can. */
function nondeterministic(request: GenerationRequest): string | undefined {
  if (request.temperature !== 0) return `temperature ${request.temperature}`;
  if ((request.n ?? 1) !== 1) return `n ${request.n}`;
  if (request.tools?.length && request.toolChoice !== "none") return "tools";
  if (request.responseFormat) return "response_format";
  if (request.presencePenalty || request.frequencyPenalty || (request.repeatPenalty !== undefined && request.repeatPenalty !== 1)) return "penalties";
  return undefined;
}
