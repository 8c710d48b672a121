import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { Hex } from "viem";
import { GotongError } from "../../common/errors.ts";
import { readGgufHeader } from "../../model/readGgufHeader.ts";
import { TOKENIZER_ARRAYS, tokenizerVocabOf } from "../../model/tokenizer/tokenizerVocabOf.ts";

const gzipAsync = promisify(gzip);

/** A vocabulary's response body, encoded once: as JSON and gzipped. */
type EncodedVocab = { json: Buffer; gzipped: Buffer };

/**
 * `GET /gotong/web/tokenizer/<weightsHash>`: the vocabulary of a model whose GGUF the gateway has
 * (the files it counts prompt tokens with), for the page to count a new message's tokens itself.
 * The page seals its prompts to the provider, so the gateway cannot count them for it.
 *
 * Each vocabulary is read from the GGUF header once (readGgufHeader: the weights are never read)
 * and kept encoded. Its weights hash names exactly one vocabulary, so the answer is immutable and
 * its ETag is that hash. A hash with no GGUF at hand, or a vocabulary that is not SentencePiece's,
 * is a 404 Gotong error, never cached: the page then bounds tokens by bytes and says so.
 *
 * @param fileOf the GGUF of the model with these weights, when the gateway has it
 * @returns `serve(req, res, weightsHash)`
 */
export function createTokenizerRoute(fileOf: (weightsHash: Hex) => Promise<string | undefined>) {
  const encoded = new Map<string, Promise<EncodedVocab>>();

  async function encode(weightsHash: Hex): Promise<EncodedVocab> {
    const path = await fileOf(weightsHash);
    if (!path) {
      throw new GotongError(`This gateway has no model file with weights ${weightsHash.slice(0, 14)}…, so the page cannot count its tokens exactly.`, {
        code: "not_found",
        status: 404,
        hint: "The page bounds the message's tokens by its bytes instead. Put the model's GGUF in the gateway's models folder and restart it to count exactly.",
      });
    }
    const vocab = tokenizerVocabOf(await readGgufHeader(path, { keepArrays: TOKENIZER_ARRAYS }));
    const json = Buffer.from(JSON.stringify({ weightsHash, ...vocab }));
    // Compressed off the event loop (zlib's thread pool), once per model.
    return { json, gzipped: await gzipAsync(json) };
  }

  return async function serve(req: IncomingMessage, res: ServerResponse, weightsHash: Hex): Promise<void> {
    const key = weightsHash.toLowerCase() as Hex;
    const etag = `"${key}"`;
    let body = encoded.get(key);
    if (!body) {
      body = encode(key);
      encoded.set(key, body);
      // Only vocabularies are kept: a miss is answered afresh, so unknown hashes cannot fill the cache.
      body.catch(() => encoded.delete(key));
    }
    const { json, gzipped } = await body;
    const headers = {
      "content-type": "application/json",
      "cache-control": "public, max-age=31536000, immutable",
      etag,
      vary: "accept-encoding",
      "x-content-type-options": "nosniff",
    };
    if (req.headers["if-none-match"]?.split(/\s*,\s*/).includes(etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const gzipOk = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    const bytes = gzipOk ? gzipped : json;
    res.writeHead(200, { ...headers, ...(gzipOk ? { "content-encoding": "gzip" } : {}), "content-length": bytes.length });
    res.end(bytes);
  };
}
