import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, statfs, writeFile, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { GotongError, isGotongError } from "../common/errors.ts";
import type { ProgressCallback } from "../common/progress.ts";
import { diskError } from "./diskError.ts";
import { hashFile } from "./hashFile.ts";
import { readGgufHeader } from "./readGgufHeader.ts";

/** Options of `pullModel`. */
export type PullModelOptions = {
  /** http(s) URL of the GGUF file. */
  url: string;
  /** Where the model ends up. The download goes to `destination + ".part"` until it is verified. */
  destination: string;
  /** Lowercase or uppercase hex sha256, with or without `0x`. When given, a mismatch deletes the download. */
  expectedSha256?: string;
  /** Exact size in bytes, when known (e.g. from a manifest). Refuses a larger or smaller file early. */
  expectedBytes?: number;
  /** Extra request headers, e.g. `{ authorization: "Bearer …" }` for gated models. */
  headers?: Record<string, string>;
  /** Cancels the download; the `.part` file is kept so the next pull resumes. */
  signal?: AbortSignal;
  /** Bytes received so far (including those resumed from an earlier attempt) and the total when known. */
  onProgress?: ProgressCallback;
  /** How many times to resume by itself after a dropped connection or a 5xx. Default 3. */
  retries?: number;
  /** First wait before resuming, doubled each time. Default 1000 ms. */
  retryDelayMs?: number;
  /** Give up on a connection that sends nothing for this long. Default 60 000 ms. */
  idleTimeoutMs?: number;
};

/** Result of `pullModel`. */
export type PullModelResult = {
  /** Final path (the `destination`). */
  path: string;
  /** Lowercase hex sha256 of the file. */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
};

/** What we remember about a `.part` file so that we only ever resume the same remote file. */
type PartInfo = { url: string; etag?: string; lastModified?: string };

/**
 * Downloads a GGUF model over HTTP(S): resumes an interrupted download with a Range request (and
 * restarts cleanly when the server ignores ranges or the file changed), verifies the sha256 when
 * given, checks that the file is a valid GGUF, then renames it into place atomically. A destination
 * that already has the expected sha256 is not downloaded again.
 *
 * Throws GotongError `model_download_not_found`, `model_download_forbidden`, `model_download_failed`,
 * `model_download_network`, `model_download_interrupted`, `model_hash_mismatch`, `model_size_mismatch`,
 * `model_disk_error`, or a `gguf_*` code when the file is not a usable GGUF.
 *
 * @example await pullModel({ url, destination: "models/tiny.gguf", expectedSha256, onProgress })
 */
export async function pullModel(options: PullModelOptions): Promise<PullModelResult> {
  const { url, destination, signal, onProgress, headers = {}, expectedBytes } = options;
  const retries = options.retries ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const expected = options.expectedSha256 === undefined ? undefined : normalizeSha256(options.expectedSha256);
  checkUrl(url);
  signal?.throwIfAborted();

  if (expected !== undefined && (await isFile(destination))) {
    const existing = await hashFile(destination, { signal });
    if (existing === expected) {
      const { size } = await stat(destination);
      onProgress?.(size, size);
      return { path: destination, sha256: existing, bytes: size };
    }
  }

  const part = `${destination}.part`;
  const infoPath = `${destination}.part.json`;
  const discardPart = async () => {
    await rm(part, { force: true });
    await rm(infoPath, { force: true });
  };
  try {
    await mkdir(dirname(destination), { recursive: true });
  } catch (error) {
    throw diskError(dirname(destination), error);
  }

  // Never resume bytes that came from another URL: they belong to another file.
  const previous = await readPartInfo(infoPath);
  if (previous?.url !== url) await discardPart();

  let hasher: Hash = createHash("sha256");
  let hashedBytes = 0;
  let restarts = 0;
  let failures = 0;
  // A response that cannot be spliced onto the .part: drop it and start over, a few times at most.
  const startOver = async (status: number) => {
    await discardPart();
    hashedBytes = 0;
    hasher = createHash("sha256");
    if (restarts++ > retries) throw unexpectedResponse(url, status);
  };
  // A failure worth retrying: wait (doubling each time) and say whether to try again.
  const backOff = async () => {
    if (failures++ >= retries) return false;
    await sleep(retryDelayMs * 2 ** (failures - 1), signal);
    return true;
  };
  for (;;) {
    signal?.throwIfAborted();
    let start = await fileSize(part);
    const info = (await readPartInfo(infoPath)) ?? { url };
    if (start > 0 && hashedBytes !== start) {
      // Bring the running hash up to the bytes already on disk (after a crash, or a torn write).
      hasher = await hashPrefix(part, start, signal);
      hashedBytes = start;
    }

    const attempt = new AbortController();
    const requestSignal = signal ? AbortSignal.any([signal, attempt.signal]) : attempt.signal;
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdleTimer = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => attempt.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
    };

    const requestHeaders: Record<string, string> = { ...headers, "accept-encoding": "identity" };
    if (start > 0) {
      requestHeaders.range = `bytes=${start}-`;
      // If-Range makes the server send the whole new file, not the tail of it, if it has changed.
      const validator = info.etag && !info.etag.startsWith("W/") ? info.etag : info.lastModified;
      if (validator) requestHeaders["if-range"] = validator;
    }

    let response: Response;
    armIdleTimer();
    try {
      response = await fetch(url, { headers: requestHeaders, signal: requestSignal, redirect: "follow" });
    } catch (error) {
      clearTimeout(idleTimer);
      if (signal?.aborted) throw signal.reason;
      if (await backOff()) continue;
      throw new GotongError(`Cannot reach ${hostOf(url)} to download the model (${describeNetworkError(error)}).`, {
        code: "model_download_network",
        status: 502,
        retryable: true,
        hint: "Check your network connection and the URL, then pull again; the download resumes where it stopped.",
        cause: error,
      });
    }

    let total: number | undefined;
    if (response.status === 206 && start > 0) {
      const range = parseContentRange(response.headers.get("content-range"));
      if (range === undefined || range.start !== start) {
        // A range we did not ask for: safer to start over than to splice it in.
        await response.body?.cancel();
        clearTimeout(idleTimer);
        await startOver(response.status);
        continue;
      }
      total = range.total;
    } else if (response.status === 200) {
      // A 200 to a Range request: the server ignores ranges or the file changed. Start from zero.
      start = 0;
      hasher = createHash("sha256");
      hashedBytes = 0;
      const length = Number(response.headers.get("content-length") ?? Number.NaN);
      total = Number.isSafeInteger(length) ? length : undefined;
      const etag = response.headers.get("etag") ?? undefined;
      const lastModified = response.headers.get("last-modified") ?? undefined;
      await writePartInfo(infoPath, { url, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) });
    } else if (response.status === 416 && start > 0) {
      await response.body?.cancel();
      clearTimeout(idleTimer);
      const range = parseUnsatisfiedRange(response.headers.get("content-range"));
      if (range === start) break; // the .part file already holds the whole file
      await startOver(response.status);
      continue;
    } else {
      await response.body?.cancel();
      clearTimeout(idleTimer);
      const error = httpError(url, response.status);
      if (error.retryable && (await backOff())) continue;
      if (response.status === 404 || response.status === 410) await discardPart();
      throw error;
    }

    if (expectedBytes !== undefined && total !== undefined && total !== expectedBytes) {
      await response.body?.cancel();
      clearTimeout(idleTimer);
      await discardPart();
      throw sizeMismatch(url, total, expectedBytes);
    }
    if (total !== undefined) await checkFreeSpace(dirname(destination), total - start);

    onProgress?.(start, total);
    let received = start;
    let handle: FileHandle;
    try {
      handle = await open(part, start === 0 ? "w" : "a");
    } catch (error) {
      clearTimeout(idleTimer);
      await response.body?.cancel();
      throw diskError(part, error);
    }
    let streamError: unknown;
    try {
      const reader = response.body!.getReader();
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          streamError = error;
          break;
        }
        if (chunk.done) break;
        armIdleTimer();
        try {
          await handle.write(chunk.value);
        } catch (error) {
          await reader.cancel().catch(() => undefined);
          throw diskError(part, error);
        }
        hasher.update(chunk.value);
        received += chunk.value.length;
        hashedBytes = received;
        if (expectedBytes !== undefined && received > expectedBytes) {
          await reader.cancel().catch(() => undefined);
          await handle.close();
          await discardPart();
          throw sizeMismatch(url, received, expectedBytes);
        }
        onProgress?.(received, total);
      }
      if (streamError === undefined) await handle.sync();
    } finally {
      clearTimeout(idleTimer);
      await handle.close().catch(() => undefined);
    }

    if (signal?.aborted) throw signal.reason;
    if (streamError === undefined && total !== undefined && received > total) {
      // More bytes than announced: the response cannot be trusted; start over.
      await startOver(response.status);
      continue;
    }
    if (streamError !== undefined || (total !== undefined && received < total)) {
      if (await backOff()) continue;
      throw new GotongError(
        `The download from ${hostOf(url)} was interrupted after ${received}${total !== undefined ? ` of ${total}` : ""} bytes.`,
        {
          code: "model_download_interrupted",
          status: 502,
          retryable: true,
          hint: "Pull again: the download resumes from the bytes already received.",
          cause: streamError,
        },
      );
    }
    break;
  }

  const bytes = await fileSize(part);
  const sha256 = hashedBytes === bytes ? hasher.digest("hex") : await hashFile(part, { signal });
  if (expectedBytes !== undefined && bytes !== expectedBytes) {
    await discardPart();
    throw sizeMismatch(url, bytes, expectedBytes);
  }
  if (expected !== undefined && sha256 !== expected) {
    await discardPart();
    throw new GotongError(`The file downloaded from ${url} has sha256 ${sha256}, but ${expected} was expected.`, {
      code: "model_hash_mismatch",
      status: 502,
      hint: "The server sent a different or corrupted file, so it was deleted. Check the URL and the expected hash, then pull again.",
    });
  }
  try {
    await readGgufHeader(part, { signal });
  } catch (error) {
    if (!isGotongError(error)) throw error;
    await discardPart();
    throw new GotongError(`The file downloaded from ${url} is not a usable GGUF model: ${error.message}`, {
      code: error.code,
      status: error.status,
      hint: error.hint,
      cause: error,
    });
  }
  try {
    await rename(part, destination);
  } catch (error) {
    throw diskError(destination, error);
  }
  await rm(infoPath, { force: true });
  return { path: destination, sha256, bytes };
}

function normalizeSha256(value: string): string {
  const hex = value.trim().toLowerCase().replace(/^0x/, "");
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new GotongError(`"${value}" is not a sha256 (64 hexadecimal digits).`, {
      code: "model_sha256_invalid",
      hint: "Copy the model's sha256 from its manifest or model card.",
    });
  }
  return hex;
}

function checkUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw new GotongError(`Cannot download from "${url}": only http and https URLs are supported.`, {
      code: "model_download_url_invalid",
      hint: "Give the full http(s) URL of the .gguf file; for a local file, use its path instead of pulling.",
    });
  }
}

function hostOf(url: string): string {
  return new URL(url).host;
}

function httpError(url: string, status: number): GotongError {
  if (status === 404 || status === 410) {
    return new GotongError(`No model at ${url} (HTTP ${status}).`, {
      code: "model_download_not_found",
      status: 404,
      hint: "Check the URL; for Hugging Face, use the file's /resolve/<revision>/<file> URL.",
    });
  }
  if (status === 401 || status === 403) {
    return new GotongError(`${hostOf(url)} refused to send ${url} (HTTP ${status}).`, {
      code: "model_download_forbidden",
      status: 403,
      hint: "The model may be gated or private: accept its licence on the hosting site and pass an access token header.",
    });
  }
  const retryable = status === 408 || status === 429 || status >= 500;
  return new GotongError(`Downloading ${url} failed with HTTP ${status}.`, {
    code: "model_download_failed",
    status: 502,
    retryable,
    hint: retryable ? "The server is busy or failing: try again later." : "Check the URL.",
  });
}

function unexpectedResponse(url: string, status: number): GotongError {
  return new GotongError(`${hostOf(url)} keeps answering range requests for ${url} inconsistently (last HTTP ${status}).`, {
    code: "model_download_failed",
    status: 502,
    retryable: true,
    hint: "Try again later or use another mirror of the model.",
  });
}

function sizeMismatch(url: string, actual: number, expected: number): GotongError {
  return new GotongError(`The file at ${url} is ${actual} bytes, but ${expected} were expected.`, {
    code: "model_size_mismatch",
    status: 502,
    hint: "The server has a different file than the manifest describes: check the URL.",
  });
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

/** `bytes 100-199/1000` → start 100, total 1000 (undefined when `*`). */
function parseContentRange(header: string | null): { start: number; total: number | undefined } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? "");
  if (!match) return undefined;
  return { start: Number(match[1]), total: match[3] === "*" ? undefined : Number(match[3]) };
}

/** `bytes *\/1000` (the form of a 416 answer) → 1000. */
function parseUnsatisfiedRange(header: string | null): number | undefined {
  const match = /^bytes \*\/(\d+)$/.exec(header?.trim() ?? "");
  return match ? Number(match[1]) : undefined;
}

async function checkFreeSpace(folder: string, needed: number): Promise<void> {
  let available: number;
  try {
    const stats = await statfs(folder);
    available = stats.bavail * stats.bsize;
  } catch {
    return; // not every file system reports free space; the write itself will fail clearly
  }
  if (needed > available) {
    throw new GotongError(`Not enough disk space in ${folder}: the model needs ${needed} more bytes, ${available} are free.`, {
      code: "model_disk_error",
      status: 507,
      hint: "Free some space, or point GOTONG_HOME at a larger disk.",
    });
  }
}

async function hashPrefix(path: string, length: number, signal: AbortSignal | undefined): Promise<Hash> {
  const hash = createHash("sha256");
  const stream = createReadStream(path, { start: 0, end: length - 1, highWaterMark: 1 << 20, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  return hash;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function readPartInfo(path: string): Promise<PartInfo | undefined> {
  try {
    const value = JSON.parse(await readFile(path, "utf8")) as PartInfo;
    return typeof value?.url === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

async function writePartInfo(path: string, info: PartInfo): Promise<void> {
  try {
    await writeFile(path, JSON.stringify(info));
  } catch (error) {
    throw diskError(path, error);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
