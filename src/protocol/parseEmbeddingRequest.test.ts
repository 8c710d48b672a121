import { describe, expect, it } from "vitest";
import { GotongError } from "../common/errors.ts";
import { decodeEmbeddingBase64, encodeEmbeddingBase64, MAX_EMBEDDING_INPUTS, parseEmbeddingInput, parseEmbeddingRequest } from "./parseEmbeddingRequest.ts";

/** The 400 a body is refused with, or undefined when it parses. */
function refusal(body: Record<string, unknown>): { param?: string; message: string } | undefined {
  try {
    parseEmbeddingRequest(body);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(GotongError);
    expect((error as GotongError).status).toBe(400);
    return { param: (error as GotongError).param, message: (error as GotongError).message };
  }
}

describe("parseEmbeddingRequest", () => {
  it("reads OpenAI's four input shapes, one item per vector, in order", () => {
    expect(parseEmbeddingInput("hello")).toEqual(["hello"]);
    expect(parseEmbeddingInput(["a", "b c", "d"])).toEqual(["a", "b c", "d"]);
    expect(parseEmbeddingInput([1, 2, 3])).toEqual([[1, 2, 3]]);
    expect(parseEmbeddingInput([[1, 2], [3], [0, 4, 5]])).toEqual([[1, 2], [3], [0, 4, 5]]);
  });

  it("defaults to float vectors and takes base64, dimensions and user", () => {
    expect(parseEmbeddingRequest({ model: "m", input: "x" })).toEqual({ model: "m", inputs: ["x"], encodingFormat: "float" });
    expect(parseEmbeddingRequest({ model: "m", input: "x", encoding_format: null })).toEqual({ model: "m", inputs: ["x"], encodingFormat: "float" });
    expect(parseEmbeddingRequest({ model: "m", input: ["x"], encoding_format: "base64", dimensions: 64, user: "u-1" })).toEqual({
      model: "m",
      inputs: ["x"],
      encodingFormat: "base64",
      dimensions: 64,
    });
  });

  it("refuses what it cannot read, naming the parameter", () => {
    expect(refusal({ input: "x" })?.param).toBe("model");
    expect(refusal({ model: "m" })?.param).toBe("input");
    expect(refusal({ model: "m", input: "" })?.param).toBe("input");
    expect(refusal({ model: "m", input: [] })?.param).toBe("input");
    expect(refusal({ model: "m", input: ["a", ""] })?.message).toMatch(/item 1 is an empty string/);
    expect(refusal({ model: "m", input: [[]] })?.message).toMatch(/empty list of tokens/);
    expect(refusal({ model: "m", input: ["a", [1]] })?.message).toMatch(/mixes/);
    expect(refusal({ model: "m", input: [[1], "a"] })?.message).toMatch(/mixes/);
    expect(refusal({ model: "m", input: [1, "a"] })?.message).toMatch(/not a token id/);
    expect(refusal({ model: "m", input: [1, -1] })?.message).toMatch(/not a token id/);
    expect(refusal({ model: "m", input: [1.5] })?.message).toMatch(/not a token id/);
    expect(refusal({ model: "m", input: [null] })?.message).toMatch(/item 0 is null/);
    expect(refusal({ model: "m", input: { text: "a" } })?.param).toBe("input");
    expect(refusal({ model: "m", input: 5 })?.param).toBe("input");
    expect(refusal({ model: "m", input: Array(MAX_EMBEDDING_INPUTS + 1).fill("a") })?.message).toMatch(/at most 2048/);
    expect(refusal({ model: "m", input: Array(MAX_EMBEDDING_INPUTS).fill("a") })).toBeUndefined();
    expect(refusal({ model: "m", input: "x", encoding_format: "int8" })?.param).toBe("encoding_format");
    expect(refusal({ model: "m", input: "x", dimensions: 0 })?.param).toBe("dimensions");
    expect(refusal({ model: "m", input: "x", dimensions: 2.5 })?.param).toBe("dimensions");
    expect(refusal({ model: "m", input: "x", dimensions: "64" })?.param).toBe("dimensions");
    expect(refusal({ model: "m", input: "x", user: 7 })?.param).toBe("user");
  });

  it("refuses parameters it does not know instead of ignoring them", () => {
    expect(refusal({ model: "m", input: "x", stream: true })?.param).toBe("stream");
    expect(refusal({ model: "m", input: "x", max_tokens: 4 })?.param).toBe("max_tokens");
  });
});

describe("base64 embeddings", () => {
  it("are the float32 values, little-endian", () => {
    expect(encodeEmbeddingBase64(new Float32Array([1]))).toBe("AACAPw==");
    expect(encodeEmbeddingBase64(new Float32Array([1, -2]))).toBe(Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]).toString("base64"));
    const vector = new Float32Array([0.1, -0.25, 3e-8, 1234.5678]);
    expect(decodeEmbeddingBase64(encodeEmbeddingBase64(vector))).toEqual(vector);
  });
});
