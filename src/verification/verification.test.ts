import { describe, expect, it, afterAll } from "vitest";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { checkEvidence, createChallenge, createVerifier, decodeEvidence, encodeEvidence, type Verifier } from "./index.ts";
import { serveBody, signEvidence } from "./evidenceFixtures.ts";
import { createLlamaBackend } from "../provider/createLlamaBackend.ts";
import { sharedModel, SHARED_MODELS } from "../../test/fixtures/model/sharedModels.ts";

const account = privateKeyToAccount(`0x${"ab".repeat(32)}`);
const domain = { chainId: 31337, verifyingContract: `0x${"22".repeat(20)}` as Hex };
const weightsHash: Hex = `0x${SHARED_MODELS.stories260K.sha256}`;

describe("evidence", () => {
  it("round-trips through JSON and refuses tampering", async () => {
    const e = await signEvidence(account, domain, { body: { prompt: "Once", max_tokens: 8, temperature: 0 }, text: " upon a time", inputTokens: 3, outputTokens: 4, weightsHash });
    const back = decodeEvidence(JSON.parse(JSON.stringify(encodeEvidence(e))));
    expect(back.receipt.outputTokens).toBe(4n);
    expect(await checkEvidence(back, domain)).toEqual({ ok: true });
    expect(await checkEvidence({ ...back, response: " upon a tim" }, domain)).toEqual({ ok: false, reason: "response_hash" });
    expect(await checkEvidence({ ...back, request: new Uint8Array([1]) }, domain)).toEqual({ ok: false, reason: "request_hash" });
    expect(await checkEvidence({ ...back, receipt: { ...back.receipt, outputTokens: 5n } }, domain)).toEqual({ ok: false, reason: "signature" });
    expect(await checkEvidence(back, { ...domain, chainId: 1 })).toEqual({ ok: false, reason: "signature" });
    expect(() => decodeEvidence({ ...encodeEvidence(e), provider: "nope" })).toThrow(/provider/);
  });
});

describe("createChallenge", () => {
  it("draws 1,000 distinct, varied requests at temperature 0 with a seed", () => {
    const draws = Array.from({ length: 1000 }, () => createChallenge({ model: "stories260K", chatTemplate: false }).body);
    expect(new Set(draws.map((b) => b.prompt)).size).toBeGreaterThan(990);
    expect(new Set(draws.map((b) => b.max_tokens)).size).toBeGreaterThan(50);
    const lengths = draws.map((b) => String(b.prompt).length);
    expect(Math.max(...lengths) - Math.min(...lengths)).toBeGreaterThan(100);
    const streamed = draws.filter((b) => b.stream === true).length;
    expect(streamed).toBeGreaterThan(400);
    expect(streamed).toBeLessThan(600);
    expect(draws.every((b) => b.temperature === 0 && Number.isInteger(b.seed) && b.messages === undefined)).toBe(true);
    const chat = Array.from({ length: 200 }, () => createChallenge({ model: "m", chatTemplate: true }));
    expect(chat.every((c) => c.kind === "chat" && Array.isArray(c.body.messages))).toBe(true);
  });
});

const stories = sharedModel("stories260K");
const tiny = sharedModel("tinyRandom");
describe.skipIf(!stories || !tiny)("verifyEvidence on stories260K", () => {
  let verifier: Verifier;
  afterAll(async () => verifier?.dispose());
  it("passes honest answers (threads 1 and 2) and catches another model and inflated counts", async () => {
    verifier = await createVerifier({ path: stories!, weightsHash });
    const bodies = Array.from({ length: 4 }, () => ({ ...createChallenge({ model: "stories260K", chatTemplate: false }).body, max_tokens: 48 }));
    for (const [path, threads, honest] of [[stories!, 1, true], [stories!, 2, true], [tiny!, 1, false]] as const) {
      const backend = await createLlamaBackend({ modelPath: path, threads });
      try {
        for (const body of bodies) {
          const s = await serveBody(backend, body);
          const e = await signEvidence(account, domain, { body, text: s.text, inputTokens: s.inputTokens, outputTokens: s.outputTokens, weightsHash });
          const verdict = await verifier.verify(e, { domain });
          expect(verdict.fraud, verdict.detail).toBe(!honest);
          if (honest) {
            const inflated = await signEvidence(account, domain, { body, text: s.text, inputTokens: s.inputTokens + 1, outputTokens: s.outputTokens, weightsHash });
            expect((await verifier.verify(inflated, { domain })).reason).toBe("inflated_input_tokens");
            const tampered = { ...e, response: s.text + "!" };
            expect((await verifier.verify(tampered, { domain })).reason).toBe("bad_evidence");
          }
        }
      } finally {
        await backend.dispose();
      }
    }
  }, 240_000);
});
