/**
 * HPKE benchmark: one sealed request/response round trip, ours (src/privacy, on libsodium) against
 * @hpke/core with @hpke/chacha20poly1305 (the reference library, WebCrypto X25519 and a pure-JS
 * ChaCha20-Poly1305), with raw X25519 work alone as the floor, on libsodium (what ours uses) and
 * on node:crypto (for reference: its KeyObjects cost more). All run in the same process,
 * interleaved in blocks of {@link BLOCK} round trips (in rotating order), so machine drift hits
 * them alike.
 *
 * Why blocks rather than alternating every round trip: @hpke/core allocates far more and leaves
 * WebCrypto threadpool work and V8 background GC/compilation behind it, and whatever runs right
 * after pays for that. Alternating every round trip measured the native-only floor ~10% and ours
 * ~15-20% slower than running them on their own, while @hpke/core's own figure did not move, so
 * the harness was charging @hpke/core's garbage to the others. Blocks of 50 keep each
 * implementation in its own steady state for ~10-30 ms and still interleave on the scale at which
 * the machine drifts.
 *
 * One round trip:
 *   client    setup + seal a ~1 KB prompt
 *   provider  setup + open it, then seal 3 response chunks (the last one final)
 *   client    open the 3 chunks
 * The baseline does the same with @hpke/core: sender/recipient contexts, seal/open, and the
 * response keyed by Export (key || base nonce) and sealed with its ChaCha20-Poly1305 per chunk.
 * The recipient's public key is imported once on both sides, as a gateway would.
 *
 *   npx tsx bench/hpke.ts      prints the result as JSON
 */
import { createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import sodium from "sodium-native";
import { pathToFileURL } from "node:url";
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { createHpkeRecipientKey } from "../src/privacy/createHpkeRecipientKey.ts";
import { createRequestInfo } from "../src/privacy/createRequestInfo.ts";
import { createStreamOpener } from "../src/privacy/createStreamOpener.ts";
import { createStreamSealer } from "../src/privacy/createStreamSealer.ts";
import { openRequest } from "../src/privacy/openRequest.ts";
import { sealRequest } from "../src/privacy/sealRequest.ts";
import { median, quantile } from "./median.ts";

/** Options of {@link benchHpke}. */
export type BenchHpkeOptions = {
  /** Measured round trips per implementation, rounded up to whole blocks. Default 1500. */
  iterations?: number;
  /** Round trips per implementation run first and not measured (JIT warm-up). Default 500. */
  warmup?: number;
};

/** Result of {@link benchHpke}; times are medians in milliseconds. */
export type BenchHpkeResult = {
  ourRoundTripMs: number;
  hpkeCoreRoundTripMs: number;
  /** hpkeCoreRoundTripMs / ourRoundTripMs. */
  speedup: number;
  /** One X25519 key generation and two DH on libsodium: the asymmetric work a round trip cannot avoid. */
  x25519FloorMs: number;
  /** One X25519 DH alone, on libsodium. */
  x25519DhMs: number;
  /** The same X25519 work on node:crypto (KeyObjects, a public key import on the recipient side). */
  nodeX25519FloorMs: number;
  /** ourRoundTripMs / x25519FloorMs: how close to the floor we are. */
  ourOverFloor: number;
  /** Where our round trip goes. */
  ours: { clientSealMs: number; providerOpenMs: number; responseStreamMs: number };
  ourRoundTripP90Ms: number;
  hpkeCoreRoundTripP90Ms: number;
  ourRoundTripMeanMs: number;
  hpkeCoreRoundTripMeanMs: number;
  /** hpkeCoreRoundTripMeanMs / ourRoundTripMeanMs: the mean counts @hpke/core's slow tail, which the median hides. */
  speedupMean: number;
  iterations: number;
  promptBytes: number;
  responseChunks: number;
  node: string;
};

/** Round trips each implementation runs in a row before the next one takes over. */
const BLOCK = 50;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (x: number, digits = 4) => Number(x.toFixed(digits));

/**
 * Measures a full sealed round trip per request, ours against @hpke/core, in this process.
 *
 * @example const { speedup } = await benchHpke({ iterations: 500 });
 */
export async function benchHpke(options: BenchHpkeOptions = {}): Promise<BenchHpkeResult> {
  const iterations = options.iterations ?? 1500;
  // @hpke/core is pure JS around WebCrypto: with 200 warm-up round trips its median still fell
  // between the first and second half of the measured run, so give the JIT more.
  const warmup = options.warmup ?? 500;
  const prompt = Buffer.from(
    JSON.stringify({
      model: "gotong/llama-3.2-1b-instruct-q4",
      stream: true,
      messages: [{ role: "user", content: "Explain quadratic funding to a ten-year-old. ".repeat(20) }],
    }).slice(0, 1024),
  );
  const chunks = [
    Buffer.from('{"choices":[{"delta":{"content":"Imagine a class"}}]}'),
    Buffer.from('{"choices":[{"delta":{"content":" that votes with marbles"}}]}'),
    Buffer.from('{"choices":[{"delta":{}}],"usage":{"completion_tokens":12}}'),
  ];
  const info = createRequestInfo({ chainId: 31337n, provider: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" });

  // Ours: the provider's key imported once (createHpkeRecipientKey); the client's cache holds the public key.
  const recipient = createHpkeRecipientKey(randomBytes(32));
  const ourTimes: number[] = [];
  const ourSeal: number[] = [];
  const ourOpen: number[] = [];
  const ourStream: number[] = [];
  const ours = () => {
    const t0 = performance.now();
    const { envelope, responseKeys } = sealRequest(recipient.publicKey, prompt, info);
    const t1 = performance.now();
    const opened = openRequest(recipient, envelope, info);
    const t2 = performance.now();
    const sealer = createStreamSealer(opened.responseKeys);
    const frames = chunks.map((c, i) => sealer.seal(c, { final: i === chunks.length - 1 }));
    const opener = createStreamOpener(responseKeys);
    let received = 0;
    for (const frame of frames) received += opener.open(frame).plaintext.length;
    opener.end();
    const t3 = performance.now();
    if (opened.plaintext.length !== prompt.length || received !== chunks.reduce((n, c) => n + c.length, 0)) throw new Error("ours: wrong round trip");
    return [t3 - t0, t1 - t0, t2 - t1, t3 - t2] as const;
  };

  // @hpke/core: same suite, recipient key pair and its public CryptoKey prepared once.
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });
  const aead = new Chacha20Poly1305();
  const theirRecipient = await suite.kem.generateKeyPair();
  const responseLabel = new TextEncoder().encode("gotong/v1 response");
  const nonceFor = (base: Uint8Array, index: number) => {
    const nonce = base.slice();
    nonce[11]! ^= index; // three chunks: the index fits the last byte
    return nonce;
  };
  const theirTimes: number[] = [];
  const theirs = async () => {
    const t0 = performance.now();
    const sender = await suite.createSenderContext({ recipientPublicKey: theirRecipient.publicKey, info });
    const ct = await sender.seal(prompt);
    const receiver = await suite.createRecipientContext({ recipientKey: theirRecipient, enc: sender.enc, info });
    const pt = await receiver.open(ct);
    const providerKeys = new Uint8Array(await receiver.export(responseLabel, 44));
    const providerAead = aead.createEncryptionContext(providerKeys.subarray(0, 32));
    const frames: ArrayBuffer[] = [];
    for (let i = 0; i < chunks.length; i++) {
      frames.push(await providerAead.seal(nonceFor(providerKeys.subarray(32), i), chunks[i]!, Uint8Array.of(i === chunks.length - 1 ? 1 : 0, i)));
    }
    const clientKeys = new Uint8Array(await sender.export(responseLabel, 44));
    const clientAead = aead.createEncryptionContext(clientKeys.subarray(0, 32));
    let received = 0;
    for (let i = 0; i < frames.length; i++) {
      received += (await clientAead.open(nonceFor(clientKeys.subarray(32), i), frames[i]!, Uint8Array.of(i === chunks.length - 1 ? 1 : 0, i))).byteLength;
    }
    const t1 = performance.now();
    if (pt.byteLength !== prompt.length || received !== chunks.reduce((n, c) => n + c.length, 0)) throw new Error("@hpke/core: wrong round trip");
    return t1 - t0;
  };

  // The floor: the X25519 work of one round trip (sender keygen + DH, recipient DH), nothing else.
  const floorSecret = randomBytes(32);
  const floorPublic = Buffer.alloc(32);
  sodium.crypto_scalarmult_base(floorPublic, floorSecret);
  const ephemeralSecret = Buffer.alloc(32);
  const ephemeralPublic = Buffer.alloc(32);
  const shared = Buffer.alloc(32);
  const floorTimes: number[] = [];
  const dhTimes: number[] = [];
  const floor = () => {
    const t0 = performance.now();
    sodium.randombytes_buf(ephemeralSecret);
    sodium.crypto_scalarmult_base(ephemeralPublic, ephemeralSecret);
    sodium.crypto_scalarmult(shared, ephemeralSecret, floorPublic);
    const t1 = performance.now();
    sodium.crypto_scalarmult(shared, floorSecret, ephemeralPublic);
    const t2 = performance.now();
    return [t2 - t0, t2 - t1] as const;
  };
  const nodeFloorKeys = generateKeyPairSync("x25519");
  const nodeFloorTimes: number[] = [];
  const nodeFloor = () => {
    const t0 = performance.now();
    const ephemeral = generateKeyPairSync("x25519", { publicKeyEncoding: { format: "jwk" } }) as unknown as { privateKey: KeyObject; publicKey: { x: string } };
    diffieHellman({ privateKey: ephemeral.privateKey, publicKey: nodeFloorKeys.publicKey });
    const enc = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: ephemeral.publicKey.x }, format: "jwk" });
    diffieHellman({ privateKey: nodeFloorKeys.privateKey, publicKey: enc });
    return performance.now() - t0;
  };

  for (let start = 0, block = 0; start < warmup + iterations; start += BLOCK, block++) {
    const measured = start >= warmup;
    // rotate the order so no implementation always runs first (or right after the GC-heavy one)
    for (let k = 0; k < 4; k++) {
      const which = (block + k) % 4;
      for (let j = 0; j < BLOCK; j++) {
        if (which === 0) {
          const [total, seal, open, stream] = ours();
          if (measured) {
            ourTimes.push(total);
            ourSeal.push(seal);
            ourOpen.push(open);
            ourStream.push(stream);
          }
        } else if (which === 1) {
          const total = await theirs();
          if (measured) theirTimes.push(total);
        } else if (which === 3) {
          const total = nodeFloor();
          if (measured) nodeFloorTimes.push(total);
        } else {
          const [total, dh] = floor();
          if (measured) {
            floorTimes.push(total);
            dhTimes.push(dh);
          }
        }
      }
    }
  }

  const ourRoundTripMs = median(ourTimes);
  const hpkeCoreRoundTripMs = median(theirTimes);
  const x25519FloorMs = median(floorTimes);
  return {
    ourRoundTripMs: round(ourRoundTripMs),
    hpkeCoreRoundTripMs: round(hpkeCoreRoundTripMs),
    speedup: round(hpkeCoreRoundTripMs / ourRoundTripMs, 2),
    x25519FloorMs: round(x25519FloorMs),
    x25519DhMs: round(median(dhTimes)),
    nodeX25519FloorMs: round(median(nodeFloorTimes)),
    ourOverFloor: round(ourRoundTripMs / x25519FloorMs, 2),
    ours: { clientSealMs: round(median(ourSeal)), providerOpenMs: round(median(ourOpen)), responseStreamMs: round(median(ourStream)) },
    ourRoundTripP90Ms: round(quantile(ourTimes, 0.9)),
    hpkeCoreRoundTripP90Ms: round(quantile(theirTimes, 0.9)),
    ourRoundTripMeanMs: round(mean(ourTimes)),
    hpkeCoreRoundTripMeanMs: round(mean(theirTimes)),
    speedupMean: round(mean(theirTimes) / mean(ourTimes), 2),
    iterations: ourTimes.length,
    promptBytes: prompt.length,
    responseChunks: chunks.length,
    node: process.version,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchHpke(), null, 2));
}
