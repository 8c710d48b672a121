import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { Llama, LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedModel } from "../../../test/fixtures/model/sharedModels.ts";
import { generateTestModel, TEST_MODEL_FILE_NAME } from "../generateTestModel.ts";
import { readGgufHeader } from "../readGgufHeader.ts";
import { createSpmTokenizer, type SpmTokenizer } from "./createSpmTokenizer.ts";
import { TOKEN_TYPE, type TokenizerVocab } from "./tokenizerVocab.ts";
import { TOKENIZER_ARRAYS, tokenizerVocabOf } from "./tokenizerVocabOf.ts";

/** A made-up vocabulary small enough to follow by hand: bytes, a few pieces and their scores. */
function tinyVocab(pieces: [string, number][], extra: Partial<TokenizerVocab> = {}): TokenizerVocab {
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  const tokens = ["<unk>", "<s>", "</s>", ...bytes, ...pieces.map(([p]) => p)];
  return {
    model: "llama",
    tokens,
    scores: [0, 0, 0, ...bytes.map(() => 0), ...pieces.map(([, s]) => s)],
    types: [TOKEN_TYPE.unknown, TOKEN_TYPE.control, TOKEN_TYPE.control, ...bytes.map(() => TOKEN_TYPE.byte), ...pieces.map(() => TOKEN_TYPE.normal)],
    addSpacePrefix: true,
    addBos: true,
    addEos: false,
    bosId: 1,
    eosId: 2,
    ...extra,
  };
}

describe("createSpmTokenizer: llama.cpp's SentencePiece algorithm", () => {
  const pieces: [string, number][] = [["▁", -1], ["a", -2], ["b", -3], ["ab", -4], ["▁a", -5], ["▁ab", -6], ["bb", -4]];
  const vocab = tinyVocab(pieces);
  const id = (piece: string) => vocab.tokens.lastIndexOf(piece);
  const t = createSpmTokenizer(vocab);

  it("escapes spaces, adds the space prefix, merges by the highest score and falls back to bytes", () => {
    expect(t.tokenize("ab")).toEqual([id("▁ab")]);
    expect(t.tokenize("abab")).toEqual([id("▁ab"), id("ab")]);
    // "é" is not a piece: its two UTF-8 bytes go as byte tokens.
    expect(t.tokenize("é")).toEqual([id("▁"), id("<0xC3>"), id("<0xA9>")]);
    expect(t.tokenize("")).toEqual([]);
    expect(t.tokenize("", { addSpecial: true })).toEqual([1]);
    expect(t.tokenize("a", { addSpecial: true })).toEqual([1, id("▁a")]);
  });

  it("breaks ties of equal score to the left", () => {
    // "abb": "ab" and "bb" both score -4; the leftmost pair ("ab") merges first.
    const noPrefix = createSpmTokenizer({ ...vocab, addSpacePrefix: false });
    expect(noPrefix.tokenize("abb")).toEqual([id("ab"), id("b")]);
  });

  it("splits user-defined tokens out first, and prefixes the text after one with a space", () => {
    const withUser = tinyVocab(pieces, {});
    withUser.tokens.push("<tool>");
    withUser.scores.push(0);
    withUser.types.push(TOKEN_TYPE.userDefined);
    const tool = withUser.tokens.length - 1;
    const u = createSpmTokenizer(withUser);
    expect(u.tokenize("a<tool>b")).toEqual([id("▁a"), tool, id("▁"), id("b")]);
    expect(u.tokenize("<tool>")).toEqual([tool]);
  });

  it("refuses a vocabulary that is not SentencePiece's, and a byte no token covers", () => {
    expect(() => createSpmTokenizer({ ...vocab, model: "gpt2" as "llama" })).toThrow(/Not a SentencePiece vocabulary/);
    const noBytes = createSpmTokenizer({ ...vocab, tokens: vocab.tokens.map((p) => (p.startsWith("<0x") ? `x${p}` : p)) });
    expect(() => noBytes.tokenize("é")).toThrow(/no token for byte/);
  });
});

/** Texts a person may type, with the cases tokenizers get wrong: spaces, whitespace, emoji, CJK, combining marks. */
const HAND_WRITTEN = [
  "",
  " ",
  "  ",
  "   leading",
  "trailing   ",
  "a  b   c    d",
  "Hello world",
  "Hello, world! How are you?",
  "Once upon a time, there was a little girl named Lily.",
  "The quick brown fox jumps over the lazy dog. 1234567890",
  "3.14159 + 2.71828 = 5.85987; 1,000,000 × 7 ÷ 3",
  "line one\nline two\n\nline four",
  "\n",
  "\t\ttabs\tand\tmore",
  "\r\n windows \r\n",
  "mixed \t\n \n\t whitespace",
  "emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flag 🇯🇵",
  "漢字かなカナ 한국어 中文测试",
  "e\u0301 a\u0308 n\u0303 (combining marks) Å vs A\u030A",
  "Ünïcödé façade naïve café",
  "مرحبا بالعالم",
  "שלום עולם",
  "Привет, мир",
  "<s> </s> <unk> [INST] <<SYS>>",
  "▁already▁escaped",
  "\u0000 nul and \u007f del",
  "zero\u200bwidth\u200djoiner",
  "\uFFFD replacement",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙",
  "a".repeat(500),
  "word ".repeat(200),
  "function f(x) { return x * 2; } // code\n\tif (a && b) console.log(`${a}`);",
];

/** Strings that stress merges: random runs of the vocabulary's own pieces, spaces and bytes. */
const piecesOf = (vocab: TokenizerVocab) => {
  const normal = vocab.tokens.filter((_, i) => vocab.types[i] === TOKEN_TYPE.normal).map((p) => p.replaceAll("\u2581", " "));
  return fc.array(fc.oneof(fc.constantFrom(...normal), fc.constantFrom(" ", "  ", "\n", "\t", "é", "😀", "字")), { maxLength: 40 }).map((parts) => parts.join(""));
};

// The project's generated test model too: its vocabulary is always at hand, where the shared models are not.
const generatedDir = mkdtempSync(join(tmpdir(), "gotong-spm-"));
const models = { stories260K: sharedModel("stories260K"), tinyRandom: sharedModel("tinyRandom"), generated: join(generatedDir, TEST_MODEL_FILE_NAME) };
afterAll(() => rmSync(generatedDir, { recursive: true, force: true }));

for (const [name, path] of Object.entries(models)) {
  describe.skipIf(!path)(`createSpmTokenizer tokenizes exactly as llama.cpp does, token for token (${name})`, () => {
    let llama: Llama;
    let model: LlamaModel;
    let vocab: TokenizerVocab;
    let tokenizer: SpmTokenizer;
    let compared = 0;
    const same = (text: string) => {
      compared++;
      expect(tokenizer.tokenize(text), JSON.stringify(text)).toEqual(Array.from(model.tokenize(text)));
    };

    beforeAll(async () => {
      if (name === "generated") await generateTestModel(path!);
      const { getLlama } = await import("node-llama-cpp");
      llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never, logger: () => {} });
      model = await llama.loadModel({ modelPath: path!, vocabOnly: true });
      vocab = tokenizerVocabOf(await readGgufHeader(path!, { keepArrays: TOKENIZER_ARRAYS }));
      tokenizer = createSpmTokenizer(vocab);
    });
    afterAll(async () => {
      console.log(`${name}: ${compared} texts compared token for token with llama.cpp`);
      await model?.dispose();
    });

    it("reads the vocabulary llama.cpp loads", () => {
      expect(String(model.vocabularyType)).toBe("spm");
      expect(vocab.tokens.length).toBe({ stories260K: 512, tinyRandom: 32_000, generated: vocab.tokens.length }[name]);
      expect(vocab.bosId).toBe(model.tokens.bos);
      expect(vocab.addBos).toBe(model.tokens.shouldPrependBosToken);
    });

    it("on hand-written texts: English, numbers, spaces, newlines, tabs, emoji, CJK, combining marks, empty", () => {
      for (const text of HAND_WRITTEN) same(text);
    });

    it("on lone surrogates, which both encode as U+FFFD", () => {
      for (const text of ["a\uD800b", "\uDC00", "x\uD83D", "\uD83D\uDE00\uDE00"]) same(text);
    });

    it("on random Unicode (any code point, any grapheme)", () => {
      fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 60 }), (text) => same(text)), { numRuns: 1500 });
      fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 30 }), (text) => same(text)), { numRuns: 1000 });
    });

    it("on random ASCII with runs of whitespace", () => {
      fc.assert(fc.property(fc.string({ unit: fc.constantFrom(..."ab e.,!?0123 \n\t\r"), maxLength: 80 }), (text) => same(text)), { numRuns: 1500 });
    });

    it("on random runs of the vocabulary's own pieces", () => {
      fc.assert(fc.property(piecesOf(vocab), (text) => same(text)), { numRuns: 5000 });
    });

    it("never counts more than the text's bytes, plus the space prefix and BOS", () => {
      // Each character the tokenizer emits is one token or one token per byte; the space prefix adds
      // one byte ("▁" is one token when it is in the vocabulary), BOS one token.
      const escapedSpaceIsToken = vocab.tokens.includes("\u2581");
      fc.assert(
        fc.property(fc.string({ unit: "binary", maxLength: 80 }), (text) => {
          const bytes = new TextEncoder().encode(text).length;
          const most = bytes + (vocab.addSpacePrefix ? 1 : 0) + (vocab.addBos ? 1 : 0);
          expect(escapedSpaceIsToken).toBe(true); // else a space could cost 3 byte tokens
          expect(tokenizer.tokenize(text, { addSpecial: true }).length).toBeLessThanOrEqual(most);
        }),
        { numRuns: 1000 },
      );
    });
  });
}
