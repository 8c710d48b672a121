/**
 * A model's vocabulary as a tokenizer needs it, read from its GGUF header (see tokenizerVocabOf):
 * what the gateway sends the web page, which tokenizes a prompt itself because it seals the prompt
 * to the provider and the gateway must never see it. Plain JSON, no Node API.
 */
export type TokenizerVocab = {
  /** `tokenizer.ggml.model`: "llama" is SentencePiece (llama.cpp's SPM), the one counted exactly. */
  model: "llama";
  /** `tokenizer.ggml.tokens`: each token's text, by id. */
  tokens: string[];
  /** `tokenizer.ggml.scores`: the merge priority of each token (higher merges first); 0 where the GGUF has none. */
  scores: number[];
  /** `tokenizer.ggml.token_type`: each token's type (see TOKEN_TYPE); normal where the GGUF has none. */
  types: number[];
  /** `tokenizer.ggml.add_space_prefix`: a space goes before the text (SentencePiece's dummy prefix). Default true. */
  addSpacePrefix: boolean;
  /** `tokenizer.ggml.add_bos_token`: a prompt starts with BOS. Default true. */
  addBos: boolean;
  /** `tokenizer.ggml.add_eos_token`: a prompt ends with EOS. Default false. */
  addEos: boolean;
  /** `tokenizer.ggml.bos_token_id` (default 1), null when it is not a token of the vocabulary. */
  bosId: number | null;
  /** `tokenizer.ggml.eos_token_id` (default 2), likewise. */
  eosId: number | null;
};

/** GGUF token types (llama.cpp's `llama_token_type`). */
export const TOKEN_TYPE = { undefined: 0, normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;
