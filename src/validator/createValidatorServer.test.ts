import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../common/logger.ts";
import { encodeEvidence, hashEvidenceReceipt, type Evidence, type Verdict } from "../verification/index.ts";
import { signEvidence } from "../verification/evidenceFixtures.ts";
import type { Judge } from "./createJudge.ts";
import { createValidatorServer } from "./createValidatorServer.ts";
import { recoverValidationSigner, validationDomain } from "./validationSignature.ts";

type ApiError = { error: { code: string; param?: string } };

const paymentDomain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000000c1" } as const;
const vDomain = validationDomain(31337, "0x00000000000000000000000000000000000000d1");
const weightsHash = `0x${"77".repeat(32)}` as const;
const providerAccount = privateKeyToAccount(generatePrivateKey());
const validator = privateKeyToAccount(generatePrivateKey());

const fakeJudge = (verdict: Verdict): Judge & { seen: Evidence[] } => {
  const seen: Evidence[] = [];
  return {
    seen,
    weightsHashes: [weightsHash],
    holds: (h) => h.toLowerCase() === weightsHash,
    async judge(evidence) {
      seen.push(evidence);
      if (evidence.receipt.weightsHash !== weightsHash) {
        const { GotongError } = await import("../common/errors.ts");
        throw new GotongError("does not hold these weights", { code: "model_not_found", status: 404 });
      }
      return verdict;
    },
    dispose: async () => {},
  };
};

const servers: ReturnType<typeof createValidatorServer>[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

async function serve(verdict: Verdict, bodyLimit?: number) {
  const passes: { provider: string; evidence: string }[] = [];
  const judge = fakeJudge(verdict);
  const server = createValidatorServer({ account: validator, judge, paymentDomain, validationDomain: vDomain, onPass: (provider, evidence) => void passes.push({ provider, evidence }), logger: createLogger({ level: "silent" }), bodyLimit });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, passes, judge };
}

const evidence = () => signEvidence(providerAccount, paymentDomain, { body: { messages: [{ role: "user", content: "hi" }], temperature: 0 }, text: "Hello", inputTokens: 5, outputTokens: 2, weightsHash });
const post = (url: string, body: unknown) => fetch(`${url}/gotong/validate`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

describe("POST /gotong/validate", () => {
  it("answers the verdict signed by the validator over the evidence digest, and counts an honest one as a pass", async () => {
    const { url, passes, judge } = await serve({ fraud: false, reason: "ok", agreement: 1, positions: 2, detail: "all agree" });
    const e = await evidence();
    const res = await post(url, encodeEvidence(e));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { signature: `0x${string}` };
    const digest = hashEvidenceReceipt(e, paymentDomain);
    expect(body).toMatchObject({ fraud: false, reason: "ok", agreement: 1, positions: 2, evidence: digest, validator: validator.address });
    expect(await recoverValidationSigner(vDomain, { evidence: digest, fraud: false, reason: "ok" }, body.signature)).toBe(validator.address);
    // The signature binds the verdict: the same signature does not recover to the validator for "fraud".
    expect(await recoverValidationSigner(vDomain, { evidence: digest, fraud: true, reason: "ok" }, body.signature)).not.toBe(validator.address);
    expect(passes).toEqual([{ provider: providerAccount.address, evidence: digest }]);
    expect(Buffer.from(judge.seen[0]!.request).toString()).toBe(Buffer.from(e.request).toString());
  });

  it("does not count a fraud verdict as a pass", async () => {
    const { url, passes } = await serve({ fraud: true, reason: "different_output", agreement: 0.5, positions: 2, firstMismatch: 1, detail: "leaves" });
    const body: unknown = await (await post(url, encodeEvidence(await evidence()))).json();
    expect(body).toMatchObject({ fraud: true, reason: "different_output", firstMismatch: 1 });
    expect(passes).toEqual([]);
  });

  it("refuses malformed evidence, bodies over the limit, other methods and unknown weights with clear errors", async () => {
    const { url } = await serve({ fraud: false, reason: "ok", agreement: 1, positions: 0, detail: "" }, 2_000);
    const notJson = await post(url, "{nope");
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as ApiError).error.code).toBe("invalid_json");
    const noReceipt = await post(url, { provider: providerAccount.address, request: "", response: "" });
    expect(noReceipt.status).toBe(400);
    expect(((await noReceipt.json()) as ApiError).error).toMatchObject({ code: "invalid_parameter", param: "receipt" });
    const tooLarge = await post(url, { ...encodeEvidence(await evidence()), response: "x".repeat(3_000) });
    expect(tooLarge.status).toBe(413);
    const get = await fetch(`${url}/gotong/validate`);
    expect(get.status).toBe(405);
    const other = await signEvidence(providerAccount, paymentDomain, { body: { prompt: "x", temperature: 0 }, text: "y", inputTokens: 1, outputTokens: 1, weightsHash: `0x${"88".repeat(32)}` });
    const unknown = await post(url, encodeEvidence(other));
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ApiError).error.code).toBe("model_not_found");
  });
});
