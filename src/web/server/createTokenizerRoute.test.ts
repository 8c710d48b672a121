import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedModel } from "../../../test/fixtures/model/sharedModels.ts";
import { sendError } from "../../common/http.ts";
import { generateTestModel } from "../../model/generateTestModel.ts";
import { hashFile } from "../../model/hashFile.ts";
import { writeGguf } from "../../model/writeGguf.ts";
import type { TokenizerVocab } from "../../model/tokenizer/tokenizerVocab.ts";
import { createTokenizerRoute } from "./createTokenizerRoute.ts";

describe("GET /gotong/web/tokenizer/<weightsHash>: a model's vocabulary for the page", () => {
  const dir = mkdtempSync(join(tmpdir(), "gotong-tokenizer-route-"));
  const files = new Map<string, string>();
  const reads: string[] = [];
  let server: Server;
  let base: string;
  let generated: Hex;
  let bpe: Hex;

  beforeAll(async () => {
    const add = async (path: string) => {
      const hash = `0x${await hashFile(path)}` as Hex;
      files.set(hash, path);
      return hash;
    };
    await generateTestModel(join(dir, "test.gguf"));
    generated = await add(join(dir, "test.gguf"));
    await writeGguf(join(dir, "bpe.gguf"), { metadata: { "general.architecture": "llama", "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.tokens": { type: "array", elementType: "string", values: ["a", "b"] } } });
    bpe = await add(join(dir, "bpe.gguf"));
    for (const name of ["stories260K", "tinyRandom"] as const) {
      const path = sharedModel(name);
      if (path) await add(path);
    }
    const serve = createTokenizerRoute(async (hash) => {
      reads.push(hash);
      return files.get(hash);
    });
    server = createServer((req, res) => {
      const hash = req.url!.split("/").pop() as Hex;
      serve(req, res, hash).catch((error) => sendError(res, error));
    });
    server.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gotong/web/tokenizer`;
  });
  afterAll(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers the vocabulary as immutable JSON named by the weights hash, read once", async () => {
    const res = await fetch(`${base}/${generated}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(`"${generated}"`);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const vocab = (await res.json()) as TokenizerVocab & { weightsHash: string };
    expect(vocab).toMatchObject({ weightsHash: generated, model: "llama", addSpacePrefix: true, addBos: true, bosId: 1, eosId: 2 });
    expect(vocab.scores.length).toBe(vocab.tokens.length);
    expect(vocab.types.length).toBe(vocab.tokens.length);
    await fetch(`${base}/${generated.toUpperCase().replace("0X", "0x")}`);
    expect(reads.filter((h) => h === generated)).toHaveLength(1);
  });

  it("gzips for a client that accepts it, and answers 304 to the ETag it gave", async () => {
    const raw = await new Promise<{ status: number; encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      import("node:http").then(({ get }) =>
        get(`${base}/${generated}`, { headers: { "accept-encoding": "gzip" } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode!, encoding: res.headers["content-encoding"], body: Buffer.concat(chunks) }));
        }).on("error", reject),
      );
    });
    expect(raw.encoding).toBe("gzip");
    expect(JSON.parse(gunzipSync(raw.body).toString()).weightsHash).toBe(generated);
    const again = await fetch(`${base}/${generated}`, { headers: { "if-none-match": `"${generated}"` } });
    expect(again.status).toBe(304);
  });

  it("answers 404 with a Gotong error for a hash without a GGUF, and for a vocabulary it cannot count exactly (BPE)", async () => {
    const unknown = await fetch(`${base}/0x${"ab".repeat(32)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("cache-control")).toBeNull();
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("not_found");
    const gpt2 = await fetch(`${base}/${bpe}`);
    expect(gpt2.status).toBe(404);
    expect(((await gpt2.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "tokenizer_unsupported", message: expect.stringContaining('"gpt2"') });
  });

  it.skipIf(!sharedModel("tinyRandom"))("serves llama-2's 32,000-token vocabulary in a reasonable size and time", async () => {
    const path = sharedModel("tinyRandom")!;
    const hash = [...files].find(([, p]) => p === path)![0] as Hex;
    const started = performance.now();
    const res = await fetch(`${base}/${hash}`);
    const body = await res.arrayBuffer();
    const firstMs = performance.now() - started;
    const vocab = JSON.parse(Buffer.from(body).toString()) as TokenizerVocab;
    expect(vocab.tokens).toHaveLength(32_000);
    const gzipped = await new Promise<number>((resolve, reject) => {
      import("node:http").then(({ get }) =>
        get(`${base}/${hash}`, { headers: { "accept-encoding": "gzip" } }, (r) => {
          let n = 0;
          r.on("data", (c: Buffer) => (n += c.length));
          r.on("end", () => resolve(n));
        }).on("error", reject),
      );
    });
    const s2 = performance.now();
    await (await fetch(`${base}/${hash}`)).arrayBuffer();
    const cachedMs = performance.now() - s2;
    console.log(`llama-2 vocab: ${body.byteLength} bytes of JSON, ${gzipped} gzipped; first answer ${firstMs.toFixed(0)} ms (read, encode, gzip), cached ${cachedMs.toFixed(1)} ms`);
    expect(body.byteLength).toBeLessThan(1_000_000);
    expect(gzipped).toBeLessThan(body.byteLength / 2);
  });
});
