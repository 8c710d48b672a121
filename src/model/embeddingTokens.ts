import { LlamaVocabularyType, type LlamaModel, type Token } from "node-llama-cpp";
import type { EmbeddingInput } from "../protocol/parseEmbeddingRequest.ts";

/**
 * The tokens llama.cpp evaluates to embed one input: the text tokenized without special tokens (or
 * the client's own token ids), with the start and end tokens the vocabulary asks for added as
 * node-llama-cpp's embedding context adds them. The provider's engine evaluates exactly these and
 * bills their number; a gateway with the same GGUF's vocabulary counts the same number.
 *
 * @example embeddingTokens(model, "Once upon a time") // [1, 403, 407, 261, 378] on stories260K
 */
export function embeddingTokens(model: LlamaModel, input: EmbeddingInput): Token[] {
  const tokens = typeof input === "string" ? model.tokenize(input, false) : ([...input] as Token[]);
  const begin = beginningToken(model);
  if (begin !== null && tokens[0] !== begin) tokens.unshift(begin);
  const end = endToken(model);
  if (end !== null && tokens.at(-1) !== end) tokens.push(end);
  return tokens;
}

/** The size of the model's vocabulary: token ids run from 0 to one less. Undefined when the GGUF does not list its tokens. */
export function vocabularySize(model: LlamaModel): number | undefined {
  const tokens = (model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: readonly unknown[] } } }).tokenizer?.ggml?.tokens;
  return tokens?.length;
}

// As llama.cpp's tokenizer (llama_tokenize_impl) and node-llama-cpp's resolveBeginningTokenToPrepend.
function beginningToken(model: LlamaModel): Token | null {
  switch (model.vocabularyType) {
    case LlamaVocabularyType.rwkv:
    case LlamaVocabularyType.ugm:
      return null;
    case LlamaVocabularyType.wpm:
      return model.tokens.bos;
    default:
      return model.tokens.shouldPrependBosToken ? model.tokens.bos : null;
  }
}

// As node-llama-cpp's resolveEndTokenToAppend.
function endToken(model: LlamaModel): Token | null {
  switch (model.vocabularyType) {
    case LlamaVocabularyType.rwkv:
      return null;
    case LlamaVocabularyType.wpm:
      return model.tokens.sep;
    case LlamaVocabularyType.ugm:
      return model.tokens.eos;
    default:
      return model.tokens.shouldAppendEosToken ? model.tokens.eos : null;
  }
}
