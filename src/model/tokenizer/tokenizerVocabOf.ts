import { GotongError } from "../../common/errors.ts";
import type { GgufHeader, GgufMetadataEntry } from "../parseGgufHeader.ts";
import type { TokenizerVocab } from "./tokenizerVocab.ts";

/** The header arrays {@link tokenizerVocabOf} reads: pass them as `keepArrays` to parseGgufHeader/readGgufHeader. */
export const TOKENIZER_ARRAYS = ["tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"] as const;

/**
 * A model's SentencePiece vocabulary from its GGUF header (read with `keepArrays: TOKENIZER_ARRAYS`),
 * with llama.cpp's defaults for what the header leaves out (`llama_vocab::impl::load`): a space
 * prefix, BOS 1 added, EOS 2 not.
 *
 * @throws GotongError `tokenizer_unsupported` when the vocabulary is not SentencePiece's (`gpt2` BPE and
 *   the others are not counted exactly: whoever counts them falls back to a bound) or its arrays are missing
 * @example tokenizerVocabOf(await readGgufHeader(path, { keepArrays: TOKENIZER_ARRAYS })).tokens.length
 */
export function tokenizerVocabOf(header: GgufHeader): TokenizerVocab {
  const model = scalar(header.metadata.get("tokenizer.ggml.model"));
  if (model !== "llama") {
    throw new GotongError(`The model's tokenizer is ${typeof model === "string" ? `"${model}"` : "not stated"}, not SentencePiece ("llama"), which is the one counted exactly.`, {
      code: "tokenizer_unsupported",
      status: 404,
      hint: "Token counts for this model stay bounded by the text's bytes.",
    });
  }
  const tokens = array(header, "tokenizer.ggml.tokens");
  if (!tokens || tokens.some((t) => typeof t !== "string")) throw missing("tokenizer.ggml.tokens");
  const scores = array(header, "tokenizer.ggml.scores") ?? [];
  const types = array(header, "tokenizer.ggml.token_type") ?? [];
  const flag = (key: string, fallback: boolean) => {
    const value = scalar(header.metadata.get(key));
    return typeof value === "boolean" ? value : fallback;
  };
  const tokenId = (key: string, fallback: number) => {
    const value = scalar(header.metadata.get(key));
    const id = typeof value === "number" || typeof value === "bigint" ? Number(value) : fallback;
    return Number.isInteger(id) && id >= 0 && id < tokens.length ? id : null;
  };
  return {
    model: "llama",
    tokens: tokens as string[],
    scores: tokens.map((_, i) => Number(scores[i] ?? 0)),
    types: tokens.map((_, i) => Number(types[i] ?? 1)),
    addSpacePrefix: flag("tokenizer.ggml.add_space_prefix", true),
    addBos: flag("tokenizer.ggml.add_bos_token", true),
    addEos: flag("tokenizer.ggml.add_eos_token", false),
    bosId: tokenId("tokenizer.ggml.bos_token_id", 1),
    eosId: tokenId("tokenizer.ggml.eos_token_id", 2),
  };
}

function scalar(entry: GgufMetadataEntry | undefined) {
  return entry && entry.type !== "array" ? entry.value : undefined;
}

function array(header: GgufHeader, key: string) {
  const entry = header.metadata.get(key);
  if (entry?.type !== "array") return undefined;
  if (!entry.value.values) throw new Error(`${key} was not kept: read the header with keepArrays: TOKENIZER_ARRAYS`);
  return entry.value.values;
}

function missing(key: string): GotongError {
  return new GotongError(`The model's GGUF has no ${key}.`, { code: "tokenizer_unsupported", status: 404, hint: "Token counts for this model stay bounded by the text's bytes." });
}
