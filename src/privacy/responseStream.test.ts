import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { gotongErrorOf } from "../../test/helpers/gotongErrorOf.ts";
import type { GotongError } from "../common/errors.ts";
import { createHpkeRecipientKey } from "./createHpkeRecipientKey.ts";
import { createRequestInfo } from "./createRequestInfo.ts";
import { createStreamOpener } from "./createStreamOpener.ts";
import { createStreamSealer } from "./createStreamSealer.ts";
import { openRequest } from "./openRequest.ts";
import { sealRequest } from "./sealRequest.ts";
import {
  createBinaryFrameReader,
  decodeSseFrame,
  encodeBinaryFrame,
  encodeSseFrame,
  STREAM_FIRST_HEADER_LENGTH,
  STREAM_HEADER_LENGTH,
  STREAM_MAX_CHUNKS,
} from "./streamFraming.ts";

const info = createRequestInfo({ chainId: 31337n, provider: "0x2222222222222222222222222222222222222222" });
const recipient = createHpkeRecipientKey(randomBytes(32));

/** A request sealed and opened: the client's and the provider's response keys. */
function exchange() {
  const sealed = sealRequest(recipient.publicKey, Buffer.from("prompt"), info);
  const opened = openRequest(recipient, sealed.envelope, info);
  return { client: sealed.responseKeys, provider: opened.responseKeys };
}

/** Seals `texts` as one stream, the last chunk final. */
function sealAll(keys: ReturnType<typeof exchange>["provider"], texts: string[]) {
  const sealer = createStreamSealer(keys);
  return texts.map((t, i) => sealer.seal(Buffer.from(t), { final: i === texts.length - 1 }));
}

const text = (chunk: { plaintext: Uint8Array }) => Buffer.from(chunk.plaintext).toString();

describe("sealed response stream", () => {
  it("round-trips a long stream of chunks of every size, through SSE framing", () => {
    const { client, provider } = exchange();
    const sealer = createStreamSealer(provider);
    const opener = createStreamOpener(client);
    const n = 5000;
    for (let i = 0; i < n; i++) {
      const chunk = randomBytes(i % 97 === 0 ? 4096 : i % 40);
      const final = i === n - 1;
      const sse = encodeSseFrame(sealer.seal(chunk, { final }));
      expect(sse).toMatch(/^data: [A-Za-z0-9_-]+\n\n$/);
      const opened = opener.open(decodeSseFrame(sse.slice(5)));
      expect(Buffer.from(opened.plaintext).equals(chunk)).toBe(true);
      expect(opened.final).toBe(final);
    }
    expect(sealer.finished).toBe(true);
    expect(opener.finished).toBe(true);
    expect(opener.chunks).toBe(n);
    opener.end();
  });

  it("round-trips through the binary framing, however the body is split", () => {
    const { client, provider } = exchange();
    const texts = Array.from({ length: 200 }, (_, i) => `token ${i} `.repeat(i % 7));
    const body = Buffer.concat(sealAll(provider, texts).map(encodeBinaryFrame));
    const reader = createBinaryFrameReader();
    const opener = createStreamOpener(client);
    const out: string[] = [];
    for (let at = 0; at < body.length; ) {
      const step = 1 + Math.floor(Math.random() * 50);
      for (const frame of reader.push(body.subarray(at, at + step))) out.push(text(opener.open(frame)));
      at += step;
    }
    reader.end();
    opener.end();
    expect(out).toEqual(texts);
  });

  it("chunk 0 carries the stream's salt; later chunks have a 5-byte header", () => {
    const { provider } = exchange();
    const frames = sealAll(provider, ["a", "b"]);
    expect(frames[0]!.length).toBe(STREAM_FIRST_HEADER_LENGTH + 1 + 16);
    expect(frames[1]!.length).toBe(STREAM_HEADER_LENGTH + 1 + 16);
    expect(frames[1]![0]).toBe(1); // final flag
  });

  it("refuses a reordered stream", () => {
    const { client, provider } = exchange();
    const [a, b, c, d] = sealAll(provider, ["a", "b", "c", "d"]);
    const opener = createStreamOpener(client);
    opener.open(a!);
    const error = gotongErrorOf(() => opener.open(c!));
    expect(error.code).toBe("stream_out_of_order");
    expect(error.message).toContain("chunk 2 arrived where chunk 1 was expected");
    // and stays failed: the right chunk is refused too
    expect(gotongErrorOf(() => opener.open(b!)).code).toBe("stream_out_of_order");
    expect(gotongErrorOf(() => opener.open(d!)).code).toBe("stream_out_of_order");
    expect(gotongErrorOf(() => opener.end()).code).toBe("stream_out_of_order");
  });

  it("refuses a stream with a dropped chunk", () => {
    const { client, provider } = exchange();
    const [a, , c] = sealAll(provider, ["a", "b", "c"]);
    const opener = createStreamOpener(client);
    opener.open(a!);
    expect(gotongErrorOf(() => opener.open(c!)).code).toBe("stream_out_of_order");
  });

  it("refuses a replayed or duplicated chunk", () => {
    const { client, provider } = exchange();
    const [a, b, c] = sealAll(provider, ["a", "b", "c"]);
    const replay = createStreamOpener(client);
    replay.open(a!);
    replay.open(b!);
    const error = gotongErrorOf(() => replay.open(a!));
    expect(error.code).toBe("stream_out_of_order");
    expect(error.message).toContain("replayed or duplicated");
    const duplicate = createStreamOpener(client);
    duplicate.open(a!);
    duplicate.open(b!);
    expect(gotongErrorOf(() => duplicate.open(b!)).code).toBe("stream_out_of_order");
    expect(c).toBeDefined();
  });

  it("refuses a truncated stream: end() before the final chunk", () => {
    const { client, provider } = exchange();
    const [a, b] = sealAll(provider, ["a", "b", "c"]);
    const opener = createStreamOpener(client);
    opener.open(a!);
    opener.open(b!);
    const error = gotongErrorOf(() => opener.end());
    expect(error.code).toBe("stream_truncated");
    expect(gotongErrorOf(() => createStreamOpener(client).end()).code).toBe("stream_truncated");
  });

  it("refuses a chunk after the final one", () => {
    const { client, provider } = exchange();
    const sealer = createStreamSealer(provider);
    const a = sealer.seal(Buffer.from("a"), { final: true });
    const opener = createStreamOpener(client);
    expect(opener.open(a).final).toBe(true);
    expect(gotongErrorOf(() => opener.open(a)).code).toBe("stream_after_final");
    // the sealer refuses to seal after its final chunk
    expect(gotongErrorOf(() => sealer.seal(Buffer.from("more"))).code).toBe("stream_finished");
    // a frame forged to follow the final chunk is refused before any decryption
    const forged = Buffer.alloc(40);
    forged.writeUInt32BE(1, 1);
    const opener2 = createStreamOpener(client);
    opener2.open(a);
    expect(gotongErrorOf(() => opener2.open(forged)).code).toBe("stream_after_final");
  });

  it("refuses a chunk from another stream, of the same request or of another", () => {
    const one = exchange();
    const two = exchange();
    const [a1, b1] = sealAll(one.provider, ["a", "b"]);
    const [a2, b2] = sealAll(two.provider, ["a", "b"]);
    // another request's stream: nothing opens
    expect(gotongErrorOf(() => createStreamOpener(one.client).open(a2!)).code).toBe("envelope_invalid");
    // another request's chunk spliced after ours
    const spliced = createStreamOpener(one.client);
    spliced.open(a1!);
    expect(gotongErrorOf(() => spliced.open(b2!)).code).toBe("envelope_invalid");
    // a second stream for the same request (a replayed envelope) has its own salt: no mixing
    const [a1b, b1b] = sealAll(one.provider, ["a", "b"]);
    const mixed = createStreamOpener(one.client);
    mixed.open(a1b!);
    expect(gotongErrorOf(() => mixed.open(b1!)).code).toBe("envelope_invalid");
    expect(Buffer.from(b1b!).equals(b1!)).toBe(false);
  });

  it("a replayed request never makes the provider reuse a key and nonce", () => {
    const sealed = sealRequest(recipient.publicKey, Buffer.from("prompt"), info);
    const first = openRequest(recipient, sealed.envelope, info);
    const replayed = openRequest(recipient, sealed.envelope, info);
    const same = Buffer.alloc(64, 7);
    const f1 = createStreamSealer(first.responseKeys).seal(same);
    const f2 = createStreamSealer(replayed.responseKeys).seal(same);
    // same plaintext, same index: different ciphertexts, because each stream has its own keys
    expect(Buffer.from(f1.subarray(STREAM_FIRST_HEADER_LENGTH)).equals(Buffer.from(f2.subarray(STREAM_FIRST_HEADER_LENGTH)))).toBe(false);
  });

  it("a flipped bit anywhere in a frame (flags, index, salt, ciphertext, tag) is refused", () => {
    const { client, provider } = exchange();
    const frames = sealAll(provider, ["first chunk", "second chunk", "last"]);
    for (let which = 0; which < frames.length; which++) {
      const frame = frames[which]!;
      for (let byte = 0; byte < frame.length; byte++) {
        const tampered = Buffer.from(frame);
        tampered[byte]! ^= 1 << (byte % 8);
        const opener = createStreamOpener(client);
        for (let i = 0; i < which; i++) opener.open(frames[i]!);
        const error = gotongErrorOf(() => opener.open(tampered));
        // an altered index is caught by the order check, anything else by authentication
        expect(["envelope_invalid", "stream_out_of_order"], `frame ${which} byte ${byte}`).toContain(error.code);
        if (byte >= 5) expect(error.code).toBe("envelope_invalid");
      }
    }
  });

  it("refuses a chunk relabelled as final, or a later chunk renumbered into the expected place", () => {
    const { client, provider } = exchange();
    const [a, b, c] = sealAll(provider, ["a", "b", "c"]);
    const early = createStreamOpener(client);
    early.open(a!);
    const relabelled = Buffer.from(b!);
    relabelled[0] = 1;
    expect(gotongErrorOf(() => early.open(relabelled)).code).toBe("envelope_invalid");
    const renumbered = Buffer.from(c!);
    renumbered.writeUInt32BE(1, 1);
    const opener = createStreamOpener(client);
    opener.open(a!);
    expect(gotongErrorOf(() => opener.open(renumbered)).code).toBe("envelope_invalid");
  });

  it("refuses frames that are too short, have unknown flags, or are not base64url", () => {
    const { client, provider } = exchange();
    const [a] = sealAll(provider, ["a"]);
    for (const bad of [Buffer.alloc(0), Buffer.alloc(20), a!.subarray(0, STREAM_FIRST_HEADER_LENGTH + 15)]) {
      expect(gotongErrorOf(() => createStreamOpener(client).open(bad)).code).toBe("envelope_invalid");
    }
    const flagged = Buffer.from(a!);
    flagged[0] = 2;
    expect(gotongErrorOf(() => createStreamOpener(client).open(flagged)).code).toBe("envelope_invalid");
    for (const data of ["a+b/", "abc=", "a", "ab cd", "*"]) expect(gotongErrorOf(() => decodeSseFrame(data)).code).toBe("envelope_invalid");
  });

  it("the binary reader refuses an oversized frame before buffering it, and a cut-off frame at the end", () => {
    const reader = createBinaryFrameReader({ maxFrameBytes: 100 });
    const header = Buffer.alloc(4);
    header.writeUInt32BE(101, 0);
    expect(gotongErrorOf(() => reader.push(header)).code).toBe("stream_frame_too_large");
    const cut = createBinaryFrameReader();
    cut.push(encodeBinaryFrame(randomBytes(30)).subarray(0, 20));
    expect(gotongErrorOf(() => cut.end()).code).toBe("stream_truncated");
  });

  it("stops at maxChunks with stream_exhausted and never reuses an index", () => {
    const { client, provider } = exchange();
    const sealer = createStreamSealer(provider, { maxChunks: 3 });
    const frames = [sealer.seal(Buffer.from("a")), sealer.seal(Buffer.from("b")), sealer.seal(Buffer.from("c"))];
    const error = gotongErrorOf(() => sealer.seal(Buffer.from("d")));
    expect(error.code).toBe("stream_exhausted");
    expect(gotongErrorOf(() => sealer.seal(Buffer.from("d"), { final: true })).code).toBe("stream_exhausted");
    expect(frames.map((f) => Buffer.from(f).readUInt32BE(1))).toEqual([0, 1, 2]);
    const opener = createStreamOpener(client);
    for (const f of frames) opener.open(f);
    expect(gotongErrorOf(() => opener.end()).code).toBe("stream_truncated");
    for (const maxChunks of [0, -1, 1.5, STREAM_MAX_CHUNKS + 1]) {
      expect(gotongErrorOf(() => createStreamSealer(provider, { maxChunks })).code).toBe("hpke_argument_invalid");
    }
  });

  it("chunks sealed concurrently each take their own index: no nonce repeats", async () => {
    const { client, provider } = exchange();
    const sealer = createStreamSealer(provider);
    const n = 2000;
    const frames = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        if (i % 2 === 0) await new Promise((r) => setImmediate(r));
        else await Promise.resolve();
        return { i, frame: sealer.seal(Buffer.from(`chunk ${i}`)) };
      }),
    );
    const indices = frames.map((f) => Buffer.from(f.frame).readUInt32BE(1));
    expect(new Set(indices).size).toBe(n);
    expect(Math.max(...indices)).toBe(n - 1);
    const last = sealer.seal(Buffer.alloc(0), { final: true });
    const opener = createStreamOpener(client);
    for (const { i, frame } of [...frames].sort((x, y) => Buffer.from(x.frame).readUInt32BE(1) - Buffer.from(y.frame).readUInt32BE(1))) {
      expect(text(opener.open(frame))).toBe(`chunk ${i}`);
    }
    expect(opener.open(last).final).toBe(true);
    opener.end();
  });
});
