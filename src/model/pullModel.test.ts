import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { generateTestModel, TEST_MODEL_SHA256 } from "./generateTestModel.ts";
import { pullModel } from "./pullModel.ts";

/** How the test server answers one request. */
type Plan = {
  status?: number;
  /** Send this many body bytes, then cut the connection. */
  cutAfter?: number;
  /** Send this many body bytes, then go silent (connection left open). */
  stallAfter?: number;
  /** Answer a Range request with the whole file and 200, as servers without range support do. */
  ignoreRange?: boolean;
  body?: Uint8Array;
};
type Seen = { url: string; range?: string; ifRange?: string };

const ETAG = '"gotong-test-v1"';
let model: Uint8Array;
let dir: string;
let server: Server;
let base: string;
let plans: Plan[];
let seen: Seen[];
let caseNumber = 0;
let destination: string;

function handle(request: IncomingMessage, response: ServerResponse): void {
  const plan = plans[seen.length] ?? {};
  seen.push({ url: request.url ?? "", range: request.headers.range, ifRange: request.headers["if-range"] as string | undefined });
  if (plan.status !== undefined) {
    response.writeHead(plan.status, { "content-type": "text/plain" }).end("nope");
    return;
  }
  const body = plan.body ?? model;
  const match = /^bytes=(\d+)-$/.exec(request.headers.range ?? "");
  let start = 0;
  const headers: Record<string, string | number> = { etag: ETAG, "accept-ranges": plan.ignoreRange ? "none" : "bytes", "content-type": "application/octet-stream" };
  if (match && !plan.ignoreRange) {
    start = Number(match[1]);
    if (start >= body.length) {
      response.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
      return;
    }
    response.writeHead(206, { ...headers, "content-length": body.length - start, "content-range": `bytes ${start}-${body.length - 1}/${body.length}` });
  } else {
    response.writeHead(200, { ...headers, "content-length": body.length });
  }
  const rest = body.subarray(start);
  if (plan.cutAfter !== undefined) {
    // Let the bytes reach the client before cutting, as a real dropped connection would.
    response.write(rest.subarray(0, plan.cutAfter), () => setTimeout(() => response.socket?.destroy(), 30));
  } else if (plan.stallAfter !== undefined) {
    response.write(rest.subarray(0, plan.stallAfter));
  } else {
    response.end(rest);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gotong-pull-"));
  model = new Uint8Array(await readFile((await generateTestModel(join(dir, "source.gguf"))).path));
  server = createServer(handle);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  plans = [];
  seen = [];
  caseNumber += 1;
  destination = join(dir, `case-${caseNumber}`, "model.gguf");
});
afterEach(() => {
  server.closeAllConnections();
});

const url = () => `${base}/models/test.gguf`;
const fast = { retryDelayMs: 10 };

describe("pullModel", () => {
  it("downloads, verifies and renames into place, reporting progress", async () => {
    const progress: [number, number | undefined][] = [];
    const result = await pullModel({ url: url(), destination, expectedSha256: TEST_MODEL_SHA256, onProgress: (d, t) => progress.push([d, t]) });
    expect(result).toEqual({ path: destination, sha256: TEST_MODEL_SHA256, bytes: model.length });
    expect(Buffer.compare(await readFile(destination), model)).toBe(0);
    expect(existsSync(`${destination}.part`)).toBe(false);
    expect(existsSync(`${destination}.part.json`)).toBe(false);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.range).toBeUndefined();
    expect(progress.at(0)).toEqual([0, model.length]);
    expect(progress.at(-1)).toEqual([model.length, model.length]);
    expect(progress.every(([d], i) => i === 0 || d >= progress[i - 1]![0])).toBe(true);
  });

  it("accepts the sha256 with 0x and in upper case, and computes it when not given", async () => {
    const result = await pullModel({ url: url(), destination, expectedSha256: `0x${TEST_MODEL_SHA256.toUpperCase()}` });
    expect(result.sha256).toBe(TEST_MODEL_SHA256);
    const again = await pullModel({ url: url(), destination: join(dir, `case-${caseNumber}`, "other.gguf") });
    expect(again.sha256).toBe(TEST_MODEL_SHA256);
  });

  it("resumes an interrupted download with a Range request on the next pull", async () => {
    plans = [{ cutAfter: Math.floor(model.length / 2) }];
    await expect(pullModel({ url: url(), destination, retries: 0 })).rejects.toMatchObject({ code: "model_download_interrupted", retryable: true });
    const kept = (await stat(`${destination}.part`)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(Math.floor(model.length / 2));

    const result = await pullModel({ url: url(), destination, expectedSha256: TEST_MODEL_SHA256 });
    expect(seen).toHaveLength(2);
    expect(seen[1]!.range).toBe(`bytes=${kept}-`);
    expect(seen[1]!.ifRange).toBe(ETAG);
    expect(result.sha256).toBe(TEST_MODEL_SHA256);
    expect(Buffer.compare(await readFile(destination), model)).toBe(0);
  });

  it("resumes by itself when the connection drops, within one pull", async () => {
    plans = [{ cutAfter: 100_000 }, { cutAfter: 100_000 }];
    const result = await pullModel({ url: url(), destination, expectedSha256: TEST_MODEL_SHA256, ...fast });
    expect(seen).toHaveLength(3);
    expect(seen[1]!.range).toMatch(/^bytes=\d+-$/);
    const starts = seen.slice(1).map((s) => Number(/\d+/.exec(s.range!)![0]));
    expect(starts[0]).toBeGreaterThan(0);
    expect(starts[1]).toBeGreaterThan(starts[0]!);
    expect(result.sha256).toBe(TEST_MODEL_SHA256);
  });

  it("gives up on a stalled connection and resumes", async () => {
    plans = [{ stallAfter: 200_000 }];
    const result = await pullModel({ url: url(), destination, expectedSha256: TEST_MODEL_SHA256, idleTimeoutMs: 300, ...fast });
    expect(seen).toHaveLength(2);
    expect(seen[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(result.sha256).toBe(TEST_MODEL_SHA256);
  });

  it("restarts cleanly from zero when the server ignores Range", async () => {
    plans = [{ cutAfter: 250_000 }, { ignoreRange: true }];
    await expect(pullModel({ url: url(), destination, retries: 0 })).rejects.toMatchObject({ code: "model_download_interrupted" });
    const progress: number[] = [];
    const result = await pullModel({ url: url(), destination, expectedSha256: TEST_MODEL_SHA256, onProgress: (d) => progress.push(d) });
    expect(seen[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(progress[0]).toBe(0); // the resumed bytes were dropped, not counted
    expect(result).toMatchObject({ sha256: TEST_MODEL_SHA256, bytes: model.length });
    expect(Buffer.compare(await readFile(destination), model)).toBe(0);
  });

  it("finishes a .part that is already complete (server answers 416)", async () => {
    await pullModel({ url: url(), destination: join(dir, `case-${caseNumber}`, "warmup.gguf") });
    await writeFile(`${destination}.part`, model);
    await writeFile(`${destination}.part.json`, JSON.stringify({ url: url(), etag: ETAG }));
    seen = [];
    const result = await pullModel({ url: url(), destination, expectedSha256: TEST_MODEL_SHA256 });
    expect(seen.map((s) => s.range)).toEqual([`bytes=${model.length}-`]);
    expect(result.sha256).toBe(TEST_MODEL_SHA256);
  });

  it("does not resume a .part left by another URL", async () => {
    const folder = join(dir, `case-${caseNumber}`);
    await pullModel({ url: url(), destination: join(folder, "warmup.gguf") });
    await writeFile(`${destination}.part`, model.subarray(0, 1000));
    await writeFile(`${destination}.part.json`, JSON.stringify({ url: `${base}/other.gguf` }));
    seen = [];
    const result = await pullModel({ url: url(), destination, expectedSha256: TEST_MODEL_SHA256 });
    expect(seen[0]!.range).toBeUndefined();
    expect(result.sha256).toBe(TEST_MODEL_SHA256);
  });

  it("deletes the file and names both hashes on a sha256 mismatch", async () => {
    const wrong = "ab".repeat(32);
    const error = await pullModel({ url: url(), destination, expectedSha256: wrong }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "model_hash_mismatch" });
    expect((error as Error).message).toContain(wrong);
    expect((error as Error).message).toContain(TEST_MODEL_SHA256);
    expect(existsSync(destination)).toBe(false);
    expect(existsSync(`${destination}.part`)).toBe(false);
  });

  it("gives a clear error for a 404", async () => {
    plans = [{ status: 404 }];
    const error = await pullModel({ url: url(), destination }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "model_download_not_found", status: 404, retryable: false });
    expect((error as Error).message).toContain(url());
    expect((error as { hint: string }).hint).toMatch(/URL/);
    expect(seen).toHaveLength(1);
    expect(existsSync(`${destination}.part`)).toBe(false);
  });

  it("retries a 503, and reports it when it persists", async () => {
    plans = [{ status: 503 }];
    expect((await pullModel({ url: url(), destination, ...fast })).sha256).toBe(TEST_MODEL_SHA256);
    plans = [{ status: 503 }, { status: 503 }, { status: 503 }];
    seen = [];
    await expect(pullModel({ url: url(), destination: `${destination}-2`, retries: 2, ...fast })).rejects.toMatchObject({
      code: "model_download_failed",
      retryable: true,
    });
    expect(seen).toHaveLength(3);
  });

  it("gives a clear error when the network is down", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, "close");
    const error = await pullModel({ url: `http://127.0.0.1:${port}/m.gguf`, destination, retries: 0 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "model_download_network", retryable: true });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it("refuses and deletes a download that is not a GGUF (a pickle checkpoint)", async () => {
    const zip = new Uint8Array(4096);
    zip.set([0x50, 0x4b, 0x03, 0x04]);
    plans = [{ body: zip }];
    const error = await pullModel({ url: url(), destination }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "gguf_not_gguf" });
    expect((error as { hint: string }).hint).toMatch(/arbitrary code/);
    expect(existsSync(destination)).toBe(false);
    expect(existsSync(`${destination}.part`)).toBe(false);
  });

  it("refuses a file whose size differs from the expected one", async () => {
    await expect(pullModel({ url: url(), destination, expectedBytes: 1234 })).rejects.toMatchObject({ code: "model_size_mismatch" });
    expect(existsSync(`${destination}.part`)).toBe(false);
  });

  it("keeps the .part when cancelled, and resumes from it", async () => {
    const controller = new AbortController();
    plans = [{ stallAfter: 300_000 }];
    const promise = pullModel({
      url: url(),
      destination,
      signal: controller.signal,
      onProgress: (done) => done > 0 && controller.abort(),
    });
    await expect(promise).rejects.toMatchObject({ name: "AbortError" });
    expect((await stat(`${destination}.part`)).size).toBeGreaterThan(0);
    const result = await pullModel({ url: url(), destination, expectedSha256: TEST_MODEL_SHA256 });
    expect(seen[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(result.sha256).toBe(TEST_MODEL_SHA256);
  });

  it("does not download again what is already in place", async () => {
    await pullModel({ url: url(), destination, expectedSha256: TEST_MODEL_SHA256 });
    seen = [];
    const result = await pullModel({ url: url(), destination, expectedSha256: TEST_MODEL_SHA256 });
    expect(seen).toHaveLength(0);
    expect(result).toEqual({ path: destination, sha256: TEST_MODEL_SHA256, bytes: model.length });
  });

  it("refuses a malformed sha256 and a URL that is not http(s)", async () => {
    await expect(pullModel({ url: url(), destination, expectedSha256: "abc" })).rejects.toMatchObject({ code: "model_sha256_invalid" });
    await expect(pullModel({ url: "file:///etc/passwd", destination })).rejects.toMatchObject({ code: "model_download_url_invalid" });
    await expect(pullModel({ url: "not a url", destination })).rejects.toMatchObject({ code: "model_download_url_invalid" });
    expect(seen).toHaveLength(0);
  });

  it("reports a disk error it cannot write around", async () => {
    const blocker = join(dir, `case-${caseNumber}-file`);
    await writeFile(blocker, "a file, not a folder");
    await expect(pullModel({ url: url(), destination: join(blocker, "model.gguf") })).rejects.toMatchObject({ code: "model_disk_error" });
  });
});
