import { TOKEN_TYPE, type TokenizerVocab } from "./tokenizerVocab.ts";

/** Options of {@link SpmTokenizer.tokenize}. */
export type TokenizeOptions = {
  /** Add the vocabulary's BOS (and EOS) as its flags say, as llama.cpp's `add_special`. Default false, as node-llama-cpp's `model.tokenize(text)`. */
  addSpecial?: boolean;
};

/** A SentencePiece tokenizer over a GGUF vocabulary (see {@link createSpmTokenizer}). */
export type SpmTokenizer = {
  /** The token ids of `text`, exactly as llama.cpp tokenizes it (special-token text is not parsed). */
  tokenize(text: string, options?: TokenizeOptions): number[];
};

/** Two adjacent symbols that a vocabulary token can join: llama.cpp's `llm_bigram_spm`. */
type Bigram = { left: number; right: number; score: number; size: number };

/** One piece of the text while merging: a run of code units, linked to its neighbours. */
type SymbolRun = { start: number; n: number; prev: number; next: number };

/**
 * llama.cpp's SentencePiece tokenizer (`llm_tokenizer_spm` with `llama_vocab::impl::tokenize`),
 * step for step, so the web page counts a prompt's tokens as the provider's engine will: spaces
 * become U+2581, a space goes first when `addSpacePrefix`, then neighbouring symbols (UTF-8
 * characters) are joined greedily by the highest-scoring vocabulary token, ties to the left, and
 * what no token covers falls back to its bytes as `<0xXX>` tokens. User-defined tokens are split
 * out first, as llama.cpp does even when special tokens are not parsed. What it leaves out of
 * llama.cpp: the lstrip/rstrip attributes a few non-llama models set on special tokens by name.
 *
 * @throws Error when the vocabulary is not SentencePiece's, or a byte has no token (llama.cpp fails there too)
 * @example createSpmTokenizer(vocab).tokenize("Hello world").length // the prompt's token count
 */
export function createSpmTokenizer(vocab: TokenizerVocab): SpmTokenizer {
  if (vocab.model !== "llama") throw new Error(`Not a SentencePiece vocabulary: ${String(vocab.model)}`);
  // Later duplicates win, as in llama.cpp's token_to_id map.
  const idOf = new Map<string, number>();
  vocab.tokens.forEach((text, id) => idOf.set(text, id));
  const scoreOf = (id: number) => vocab.scores[id] ?? 0;
  // Longest first, so that a token containing another is split out whole (llama.cpp sorts the same way).
  const userDefined = vocab.tokens
    .map((text, id) => ({ text, id }))
    .filter(({ id, text }) => vocab.types[id] === TOKEN_TYPE.userDefined && text.length > 0)
    .sort((a, b) => utf8Length(b.text) - utf8Length(a.text) || a.id - b.id);

  const byteToken = (byte: number): number => {
    const id = idOf.get(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`) ?? idOf.get(String.fromCharCode(byte));
    if (id === undefined) throw new Error(`The vocabulary has no token for byte 0x${byte.toString(16)}`);
    return id;
  };

  /** One run of plain text (no user-defined token in it), appended to `out`. */
  const tokenizeRun = (text: string, out: number[]) => {
    const symbols: SymbolRun[] = [];
    for (let offset = 0; offset < text.length; ) {
      const n = text.codePointAt(offset)! > 0xffff ? 2 : 1;
      symbols.push({ start: offset, n, prev: symbols.length - 1, next: offset + n === text.length ? -1 : symbols.length + 1 });
      offset += n;
    }
    const queue = new BigramQueue();
    const addBigram = (left: number, right: number) => {
      if (left === -1 || right === -1) return;
      const a = symbols[left]!;
      const size = a.n + symbols[right]!.n;
      const id = idOf.get(text.slice(a.start, a.start + size));
      if (id !== undefined) queue.push({ left, right, score: scoreOf(id), size });
    };
    for (let i = 1; i < symbols.length; i++) addBigram(i - 1, i);
    for (let bigram = queue.pop(); bigram; bigram = queue.pop()) {
      const left = symbols[bigram.left]!;
      const right = symbols[bigram.right]!;
      // A pair one of whose symbols was merged since it was queued is stale.
      if (left.n === 0 || right.n === 0 || left.n + right.n !== bigram.size) continue;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next]!.prev = bigram.left;
      addBigram(left.prev, bigram.left);
      addBigram(bigram.left, left.next);
    }
    // Every merged symbol is a token (a pair is queued only when one is), so only single characters
    // can be missing: those go as their bytes. (llama.cpp's rev_merge resegmentation never applies then.)
    for (let i = symbols.length > 0 ? 0 : -1; i !== -1; i = symbols[i]!.next) {
      const s = symbols[i]!;
      const piece = text.slice(s.start, s.start + s.n);
      const id = idOf.get(piece);
      if (id !== undefined) out.push(id);
      else for (const byte of new TextEncoder().encode(piece)) out.push(byteToken(byte));
    }
  };

  return {
    tokenize(text, options = {}) {
      const out: number[] = [];
      const special = options.addSpecial === true;
      if (special && vocab.addBos && vocab.bosId !== null) out.push(vocab.bosId);
      // A space goes before the first run and before each run that follows a user-defined token.
      let afterSpecial = true;
      for (const fragment of splitUserDefined(wellFormed(text), userDefined)) {
        if (typeof fragment === "number") {
          out.push(fragment);
          afterSpecial = true;
          continue;
        }
        const prefixed = vocab.addSpacePrefix && afterSpecial ? ` ${fragment}` : fragment;
        tokenizeRun(prefixed.replaceAll(" ", "\u2581"), out);
        afterSpecial = false;
      }
      if (special && vocab.addEos && vocab.eosId !== null) out.push(vocab.eosId);
      return out;
    },
  };
}

/**
 * `text` cut at every occurrence of a user-defined token, each token as its id, text as strings,
 * none empty: llama.cpp's `tokenizer_st_partition`, one token at a time, longest first.
 */
function splitUserDefined(text: string, tokens: readonly { text: string; id: number }[]): (string | number)[] {
  let fragments: (string | number)[] = text ? [text] : [];
  for (const token of tokens) {
    fragments = fragments.flatMap((fragment) => {
      if (typeof fragment === "number" || !fragment.includes(token.text)) return [fragment];
      const parts = fragment.split(token.text);
      return parts.flatMap((part, i) => [...(i > 0 ? [token.id] : []), ...(part ? [part] : [])]);
    });
  }
  return fragments;
}

/** Lone surrogates as U+FFFD, as the UTF-8 text the engine receives has them (V8 encodes them so). */
function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * A binary max-heap of bigrams in llama.cpp's order: the highest score first, and of equal
 * scores the leftmost (std::priority_queue with `llm_bigram_spm::comparator`).
 */
class BigramQueue {
  private readonly heap: Bigram[] = [];

  private static before(a: Bigram, b: Bigram): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }

  push(bigram: Bigram): void {
    const heap = this.heap;
    heap.push(bigram);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!BigramQueue.before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  pop(): Bigram | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return top;
    heap[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < heap.length && BigramQueue.before(heap[l]!, heap[best]!)) best = l;
      if (r < heap.length && BigramQueue.before(heap[r]!, heap[best]!)) best = r;
      if (best === i) break;
      [heap[i], heap[best]] = [heap[best]!, heap[i]!];
      i = best;
    }
    return top;
  }
}
