import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { createVerifier, type Verifier } from "./index.ts";
import { serveBody, signEvidence, type Served } from "./evidenceFixtures.ts";
import { createLlamaBackend } from "../provider/createLlamaBackend.ts";
import type { InferenceBackend } from "../provider/backend.ts";
import { haveSharedModels, sharedModelPath, SHARED_MODELS } from "../../test/fixtures/model/sharedModels.ts";

const account = privateKeyToAccount(`0x${"cd".repeat(32)}`);
const domain = { chainId: 31337, verifyingContract: `0x${"22".repeat(20)}` as Hex };
const weightsHash: Hex = `0x${SHARED_MODELS.stories260K.sha256}`;

/** Ordinary prompts. stories260K never ends a story by itself (it writes a BOS and goes on), so its answers end by length or at a stop string. */
const PROMPTS = ["Once upon a time, there was a little girl named", "The dog ran to the park and", "Tom had a red ball. One day,", "Lily and her mom went to the store to buy"];

describe.skipIf(!haveSharedModels())("compareOutputs' token count on stories260K (validator on 1 thread, default tolerance)", () => {
  let verifier: Verifier;
  let backend: InferenceBackend;
  beforeAll(async () => {
    verifier = await createVerifier({ path: sharedModelPath("stories260K"), weightsHash });
    backend = await createLlamaBackend({ modelPath: sharedModelPath("stories260K"), threads: 1 });
  }, 60_000);
  afterAll(async () => {
    await backend?.dispose();
    await verifier?.dispose();
  });
  const verify = async (body: Record<string, unknown>, served: Served, outputTokens: number) =>
    verifier.verify(await signEvidence(account, domain, { body, text: served.text, inputTokens: served.inputTokens, outputTokens, weightsHash }), { domain });

  it("passes honest answers as billed and flags every one billed one output token more", async () => {
    for (const prompt of PROMPTS) {
      const body = { prompt, max_tokens: 60, temperature: 0, seed: 7 };
      const served = await serveBody(backend, body);
      expect(served.outputTokens).toBe(60);
      const honest = await verify(body, served, served.outputTokens);
      expect(honest.fraud, honest.detail).toBe(false);
      expect(honest.counted?.outputTokens).toBe(60);
      // The old rule let near-ties within 0.5 logits excuse this token in most answers.
      const inflated = await verify(body, served, served.outputTokens + 1);
      expect(inflated.reason, `${prompt}: ${inflated.detail}`).toBe("inflated_output_tokens");
    }
  }, 120_000);

  it("allows the stop string's token an honest provider bills, and not one more", async () => {
    for (const prompt of PROMPTS) {
      const body = { prompt, max_tokens: 200, temperature: 0, seed: 7, stop: ["."] };
      const served = await serveBody(backend, body);
      expect(served.text.includes("."), prompt).toBe(false);
      expect(served.outputTokens, `"${prompt}" must end at the stop string`).toBeLessThan(200);
      const honest = await verify(body, served, served.outputTokens);
      expect(honest.fraud, `${prompt}: ${honest.detail}`).toBe(false);
      // The provider billed the token that began the stop string, which the answer's text does not hold.
      expect(served.outputTokens).toBe(honest.counted!.outputTokens + 1);
      const inflated = await verify(body, served, served.outputTokens + 1);
      expect(inflated.reason, `${prompt}: ${inflated.detail}`).toBe("inflated_output_tokens");
    }
  }, 120_000);

  it("flags a token billed beyond max_tokens on an answer cut by length", async () => {
    const body = { prompt: PROMPTS[1], max_tokens: 24, temperature: 0, seed: 7 };
    const served = await serveBody(backend, body);
    expect(served.outputTokens).toBe(24);
    expect((await verify(body, served, 24)).fraud).toBe(false);
    expect((await verify(body, served, 25)).reason).toBe("inflated_output_tokens");
  }, 60_000);
});
