import { GotongError } from "../common/errors.ts";

/** One input to embed: text, or the token ids of a text already tokenized by the model's own tokenizer. */
export type EmbeddingInput = string | readonly number[];

/** A `/v1/embeddings` request, validated: what both the gateway (to bound the bill) and the provider (to serve it) read from it. */
export type EmbeddingRequest = {
  model: string;
  /** One item per vector asked for, in order. */
  inputs: EmbeddingInput[];
  /** How vectors are written: JSON numbers, or base64 of little-endian float32 (OpenAI's two shapes). Default float. */
  encodingFormat: "float" | "base64";
  /** Length the client asked the vectors to have, when it asked. */
  dimensions?: number;
};

/** Most items one request may embed, as the OpenAI API allows. */
export const MAX_EMBEDDING_INPUTS = 2048;

/** Every parameter an embeddings request may carry. */
export const EMBEDDING_PARAMETERS: ReadonlySet<string> = new Set(["model", "input", "encoding_format", "dimensions", "user"]);

function bad(message: string, param: string, hint?: string): GotongError {
  return new GotongError(message, { code: "invalid_parameter", status: 400, param, hint });
}

/** A token id: a non-negative integer (the provider checks it against its vocabulary). */
function isTokenId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function tokenList(value: unknown[], where: string): number[] {
  if (value.length === 0) throw bad(`${where} is an empty list of tokens`, "input");
  for (const token of value) {
    if (!isTokenId(token)) throw bad(`${where} holds ${JSON.stringify(token)}, which is not a token id (a non-negative integer)`, "input");
  }
  return value as number[];
}

/**
 * The `input` of an embeddings request, in any of OpenAI's four shapes: a string, an array of
 * strings, an array of token ids (one input), or an array of arrays of token ids.
 *
 * @example parseEmbeddingInput(["a", "b"]) // ["a", "b"]
 * @example parseEmbeddingInput([1, 2, 3]) // [[1, 2, 3]]
 */
export function parseEmbeddingInput(input: unknown): EmbeddingInput[] {
  if (typeof input === "string") {
    if (!input) throw bad(`"input" is an empty string`, "input", "Send the text to embed.");
    return [input];
  }
  if (!Array.isArray(input)) throw bad(`"input" must be a string, an array of strings, an array of token ids or an array of arrays of token ids`, "input");
  if (input.length === 0) throw bad(`"input" is an empty array`, "input", "Send at least one text to embed.");
  if (input.length > MAX_EMBEDDING_INPUTS) throw bad(`"input" has ${input.length} items; at most ${MAX_EMBEDDING_INPUTS} are embedded per request`, "input", "Split the inputs over several requests.");
  // The first item decides the shape; every other item must have it too.
  if (typeof input[0] === "number") return [tokenList(input, `"input"`)];
  return input.map((item: unknown, i): EmbeddingInput => {
    if (typeof item === "string") {
      if (typeof input[0] !== "string") throw bad(`"input" mixes token lists and strings (item ${i})`, "input");
      if (!item) throw bad(`"input" item ${i} is an empty string`, "input");
      return item;
    }
    if (Array.isArray(item)) {
      if (!Array.isArray(input[0])) throw bad(`"input" mixes strings and token lists (item ${i})`, "input");
      return tokenList(item, `"input" item ${i}`);
    }
    throw bad(`"input" item ${i} is ${item === null ? "null" : typeof item}; each item must be a string or an array of token ids`, "input");
  });
}

/**
 * Validates an OpenAI `/v1/embeddings` request body. A parameter that cannot be honoured is refused
 * with 400, never silently dropped; whether `dimensions` can be honoured depends on the model and is
 * decided by the provider.
 */
export function parseEmbeddingRequest(body: Record<string, unknown>): EmbeddingRequest {
  for (const key of Object.keys(body)) {
    if (!EMBEDDING_PARAMETERS.has(key)) throw bad(`The parameter "${key}" is not supported by /v1/embeddings`, key, "Remove it from the request; Gotong refuses what it cannot honour instead of ignoring it.");
  }
  if (typeof body.model !== "string" || !body.model) throw bad(`"model" is required`, "model");
  if (body.input === undefined || body.input === null) throw bad(`"input" is required`, "input");
  const inputs = parseEmbeddingInput(body.input);
  const format = body.encoding_format ?? "float";
  if (format !== "float" && format !== "base64") throw bad(`"encoding_format" must be "float" or "base64", not ${JSON.stringify(format)}`, "encoding_format");
  let dimensions: number | undefined;
  if (body.dimensions !== undefined && body.dimensions !== null) {
    if (typeof body.dimensions !== "number" || !Number.isSafeInteger(body.dimensions) || body.dimensions < 1) throw bad(`"dimensions" must be a positive integer`, "dimensions");
    dimensions = body.dimensions;
  }
  // `user` is an end-user id for abuse monitoring: nothing is logged or stored here, so it changes nothing.
  if (body.user !== undefined && body.user !== null && typeof body.user !== "string") throw bad(`"user" must be a string`, "user");
  return { model: body.model, inputs, encodingFormat: format, ...(dimensions !== undefined ? { dimensions } : {}) };
}

/**
 * A vector in the API's base64 shape: its float32 values, little-endian, as bytes.
 *
 * @example encodeEmbeddingBase64(new Float32Array([1])) // "AACAPw=="
 */
export function encodeEmbeddingBase64(vector: Float32Array): string {
  return float32LittleEndian(vector).toString("base64");
}

/** A vector's float32 values as little-endian bytes, whatever the machine's own byte order. */
export function float32LittleEndian(vector: Float32Array): Buffer {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes;
}

/** The inverse of {@link encodeEmbeddingBase64}. */
export function decodeEmbeddingBase64(text: string): Float32Array {
  const bytes = Buffer.from(text, "base64");
  const vector = new Float32Array(bytes.length >> 2);
  for (let i = 0; i < vector.length; i++) vector[i] = bytes.readFloatLE(i * 4);
  return vector;
}
