import { createSpmTokenizer } from "../../../model/tokenizer/createSpmTokenizer.ts";
import type { TokenizerVocab } from "../../../model/tokenizer/tokenizerVocab.ts";
import { describeError, getJson } from "../lib/api.ts";
import type { TokenCounter } from "./fitHistory.ts";

/** A model's token counter, or why the page bounds its tokens by bytes instead. */
export type TokenCounting = { status: "counted"; count: TokenCounter } | { status: "bounded"; reason: string };

/** Counters by weights hash, for the page's life: a vocabulary never changes under its hash. */
/** Texts whose counts a counter keeps (the conversation's messages and the last drafts). */
const COUNTS_KEPT = 512;
const counters = new Map<string, Promise<TokenCounting>>();

/**
 * The exact token counter of the model with these weights: its vocabulary from the gateway
 * (`GET /gotong/web/tokenizer/<weightsHash>`, read from the GGUF the gateway has), tokenized here
 * in the page, since the page seals its prompts and the gateway must never see them. Without it
 * (the gateway has no GGUF of the model, its vocabulary is BPE, or the gateway cannot be reached)
 * the reason why: the page then bounds tokens by bytes, as before.
 *
 * @example const counting = await loadTokenCounter(choice.weightsHash);
 */
export function loadTokenCounter(weightsHash: string | undefined): Promise<TokenCounting> {
  if (!weightsHash || !/^0x[0-9a-fA-F]{64}$/.test(weightsHash)) return Promise.resolve({ status: "bounded", reason: "the gateway does not say which weights this model has" });
  const key = weightsHash.toLowerCase();
  let counting = counters.get(key);
  if (!counting) {
    counting = load(key);
    counters.set(key, counting);
  }
  return counting;
}

async function load(weightsHash: string): Promise<TokenCounting> {
  try {
    const tokenizer = createSpmTokenizer(await getJson<TokenizerVocab>(`/gotong/web/tokenizer/${weightsHash}`));
    // Counts are kept per text: the page counts the whole conversation again on every keystroke of
    // the draft, and only the draft changes. Bounded, so a long session does not grow it for ever.
    const known = new Map<string, number>();
    const count = (text: string): number => {
      let tokens = known.get(text);
      if (tokens === undefined) {
        // Without BOS: the prompt's template allowance in fitHistory counts it, once per prompt.
        tokens = tokenizer.tokenize(text).length;
        if (known.size >= COUNTS_KEPT) known.delete(known.keys().next().value!);
        known.set(text, tokens);
      }
      return tokens;
    };
    return { status: "counted", count };
  } catch (error) {
    const { code } = describeError(error);
    // A gateway that did not answer may answer later: ask again next time.
    if (code === "network_down" || code.startsWith("http_5")) counters.delete(weightsHash);
    if (code === "tokenizer_unsupported") return { status: "bounded", reason: "this model's tokenizer is not one the page counts with" };
    if (code === "not_found") return { status: "bounded", reason: "the gateway has no tokenizer for this model" };
    return { status: "bounded", reason: "the model's tokenizer could not be loaded" };
  }
}
