import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";

/**
 * Logit margin (natural-log units, the raw logits of the model) within which a provider's token
 * counts as the validator's own choice even though it is not the validator's top token: the
 * floating-point noise between the provider's run and the validator's. bench/determinism.ts measured
 * it on the project's 2-core CPU machines (stories260K and llama-2-tiny-random; threads 1 and 2,
 * repeated runs, four sequences batched in one context, against a 1-thread validator that evaluates
 * the answer in batches rather than a token at a time): the largest honest margin in any run so far
 * was 0.0033 logits (most answers: exactly 0). 0.02 is six times that. A Q8_0 requantisation's
 * answers leave the greedy path by 0.005 to 0.15 logits where they leave it at all, so below 0.02
 * would catch little more and eat into the safety factor, and the old 0.5 let nearly all of them
 * through. F16 gives the same greedy text as the original on these models: no tolerance can see it.
 *
 * The trade-off: the tolerance is a bound on the provider's hardware as much as on its honesty. A
 * provider whose numerics differ more from the validator's (a GPU's fused or half-precision kernels,
 * another llama.cpp build) is flagged whenever its answer crosses a near-tie closer than its own
 * noise, much as Q8_0 is. Such a provider needs validators that run the same kind of backend, or a
 * tolerance measured for that pairing (`VerifyOptions.tolerance`), and then a requantisation whose
 * error is no larger than that noise is no longer distinguishable from it.
 */
export const DEFAULT_TOLERANCE = 0.02;

/** Likeliest tokens read at each position: the provider's token is looked for among them. */
const TOP_K = 40;
/** Tokens of earlier output the detokenizer is given, as the provider's token loop does (generateTokens). */
const DETOKENIZE_CONTEXT = 8;
const INCOMPLETE_CHARACTER = "\uFFFD";

/** What the comparison of one answer found. */
export type Comparison = {
  /** Positions compared: answer tokens, plus the end of the answer when it ended before `maxTokens`. */
  positions: number;
  /** Positions where the answer's token was the validator's choice, within the tolerance. */
  agreed: number;
  /** Index (in answer tokens) of the first position beyond the tolerance. */
  firstMismatch?: number;
  /** The answer's tokens as the validator walked them. */
  outputTokens: number;
  /**
   * Extra tokens an honest provider may have counted, each for something the validator saw in this
   * answer: a position where a shorter token spelling the same text was within the tolerance of the
   * top (a near-tie between tokenizations), and one when the answer's end was a stop-string token,
   * or within the tolerance of one (the provider bills the token that began the stop string). Never
   * a blanket allowance: an answer that ended on an end-of-generation token with no near-tie has 0.
   */
  countAllowance: number;
  /** Per position, how far (in logits) the answer's token fell below the validator's top; 0 when it was the top. */
  margins: number[];
};

/** What to compare: the rendered prompt's tokens and the provider's answer text. */
export type CompareInput = {
  prompt: Token[];
  answer: string;
  /** The request's output cap: an answer this long ended by length, not by the model's choice. */
  maxTokens: number;
  /** Strings that end an answer (the request's `stop` and the chat template's triggers). */
  stop: string[];
  tolerance?: number;
  /**
   * Stop at the first position beyond the tolerance: the verdict is decided there, and walking the
   * rest of an answer that keeps diverging (another model's) evaluates the rest again at every
   * divergence, about 30 s of CPU for a 256-token answer against 0.1 s for an honest one.
   * `positions` and `agreed` then count up to that position. Default false: the whole answer.
   */
  untilMismatch?: boolean;
};

/**
 * Teacher-forces `answer` after `prompt` on `sequence` (emptied first) and compares, position by
 * position, the token the answer continues with against the validator's own top token: agreement
 * when it is the top token or within `tolerance` logits of it (TOPLOC's idea, without the proofs:
 * the validator holds the weights). A position is judged on the text, not on one tokenization: the
 * answer is tokenized ahead and evaluated in one batch, and wherever the validator's top token
 * spells the same text differently (`▁the` against `▁t`,`he`) the walk follows the validator's
 * tokenization and tokenizes the rest again. When the answer ended before `maxTokens`, the end is a
 * position too: an end-of-generation token (or a stop string) must be the validator's choice there.
 */
export async function compareOutputs(model: LlamaModel, sequence: LlamaContextSequence, input: CompareInput): Promise<Comparison> {
  const tolerance = input.tolerance ?? DEFAULT_TOLERANCE;
  const { answer, stop, maxTokens } = input;
  const ends = [model.tokens.eos, model.tokens.eot].filter((t): t is Token => t !== null);
  const path: Token[] = [];
  const margins: number[] = [];
  let agreed = 0;
  let firstMismatch: number | undefined;
  let countAllowance = 0;
  // Characters of the answer the path spells so far.
  let offset = 0;
  const pieceOf = (token: Token) => model.detokenize([token], false, path.slice(-DETOKENIZE_CONTEXT));
  // A token that spells nothing (stories260K writes a BOS between stories) spells any text: the
  // provider generates and bills it silently. An end-of-generation token ends instead.
  const consistent = (piece: string, token: Token) =>
    piece.length === 0 ? !model.isEogToken(token) : !piece.includes(INCOMPLETE_CHARACTER) && answer.startsWith(piece, offset);
  const judge = (margin: number) => {
    margins.push(margin);
    if (margin <= tolerance) agreed++;
    else firstMismatch ??= margins.length - 1;
  };
  const push = (token: Token) => {
    const piece = pieceOf(token);
    path.push(token);
    // A piece that ends inside a multi-byte character: count what the whole path spells instead.
    offset = piece.includes(INCOMPLETE_CHARACTER) ? trimIncomplete(model.detokenize(path, false)).length : offset + piece.length;
  };

  await sequence.clearHistory();
  let pending: Token[] = input.prompt;
  for (;;) {
    const ahead = offset < answer.length ? tokenizeRest(model, answer.slice(offset), path.length === 0) : [];
    const items = [...pending, ...ahead];
    const withLogits = (i: number) => i >= pending.length - 1;
    const request = items.map((token, i) =>
      withLogits(i)
        ? ([token, { generateNext: { logits: { filter: { tokens: [...(items[i + 1] === undefined ? [] : [items[i + 1]!]), ...ends], includeTop: TOP_K } } } }] as const)
        : token,
    );
    const outputs = await sequence.controlledEvaluate(request as never);
    let diverged = false;
    for (let j = 0; j <= ahead.length && !diverged; j++) {
      const logits = outputs[pending.length - 1 + j]?.next.logits;
      if (!logits) throw new Error(`llama.cpp returned no logits at answer position ${path.length}`);
      const [[top, max]] = logits.entries() as unknown as [[Token, number]];
      if (offset >= answer.length) {
        // The whole answer is spelt: it ended by length, or the model must choose to end here.
        if (path.length < maxTokens) {
          let bestEnd = -Infinity;
          let bestStop = -Infinity;
          for (const [token, logit] of logits) {
            if (model.isEogToken(token)) bestEnd = Math.max(bestEnd, logit);
            else if (endsAtStop(pieceOf(token), stop)) bestStop = Math.max(bestStop, logit);
          }
          judge(max - Math.max(bestEnd, bestStop));
          // The provider bills the token that began a stop string (generateTokens), never an
          // end-of-generation token: one more token only when a stop-string token was the choice
          // here, or within the noise of it.
          if (max - bestStop <= tolerance) countAllowance++;
        }
        return { positions: margins.length, agreed, firstMismatch, outputTokens: path.length, countAllowance, margins };
      }
      if (path.length >= maxTokens) {
        // More text than max_tokens tokens of these weights spell: no honest run wrote it.
        judge(Infinity);
        return { positions: margins.length, agreed, firstMismatch, outputTokens: path.length, countAllowance, margins };
      }
      const candidate = ahead[j]!;
      let choice: Token;
      if (top === candidate) {
        choice = candidate;
        judge(0);
      } else if (consistent(pieceOf(top), top)) {
        // The validator spells the same text with another token: follow its tokenization.
        choice = top;
        judge(0);
      } else {
        // The likeliest token that spells the answer on: the provider's (or an equivalent) choice.
        choice = candidate;
        let best = logits.get(candidate) ?? -Infinity;
        for (const [token, logit] of logits) {
          if (logit <= best) break;
          if (consistent(pieceOf(token), token)) {
            choice = token;
            best = logit;
            break;
          }
        }
        judge(max - best);
        if (input.untilMismatch && firstMismatch !== undefined) {
          return { positions: margins.length, agreed, firstMismatch, outputTokens: path.length, countAllowance, margins };
        }
      }
      // A shorter token spelling the same text within the noise of the top: an honest provider on
      // other numerics may have taken it and needed one token more for the same text.
      if (hasShorterNearTie(logits, choice, max - tolerance, pieceOf, consistent)) countAllowance++;
      push(choice);
      if (choice !== candidate) {
        // Off the tokenization evaluated ahead: drop what was evaluated after this position.
        await sequence.eraseContextTokenRanges([{ start: input.prompt.length + path.length - 1, end: sequence.nextTokenIndex }]);
        pending = [choice];
        diverged = true;
      }
    }
    if (!diverged) pending = ahead.length > 0 ? [] : pending;
    if (!diverged) {
      // Every token evaluated ahead was followed and the end was not reached: impossible, since
      // `ahead` spells the whole rest of the answer; guard against a tokenizer that does not.
      throw new Error(`the answer's tokens do not spell its text (stopped at character ${offset} of ${answer.length})`);
    }
  }
}

/** Tokens of the rest of an answer; after the first token, without the leading space a SentencePiece tokenizer adds. */
function tokenizeRest(model: LlamaModel, text: string, first: boolean): Token[] {
  return first ? model.tokenize(text, false) : model.tokenize(text, false, "trimLeadingSpace");
}

function trimIncomplete(text: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === INCOMPLETE_CHARACTER) end--;
  return text.slice(0, end);
}

/** True when a token's text would end the answer at one of the stop strings (starts one, or holds one). */
function endsAtStop(piece: string, stop: string[]): boolean {
  return piece.length > 0 && stop.some((s) => s.startsWith(piece) || piece.includes(s));
}

/** True when a token with a shorter piece that also spells the answer is within the tolerance: the provider may have split it. */
function hasShorterNearTie(logits: Map<Token, number>, chosen: Token, floor: number, pieceOf: (t: Token) => string, consistent: (p: string, t: Token) => boolean): boolean {
  const length = pieceOf(chosen).length;
  for (const [token, logit] of logits) {
    if (logit < floor) break;
    if (token === chosen) continue;
    const piece = pieceOf(token);
    if (piece.length < length && consistent(piece, token)) return true;
  }
  return false;
}
