import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Address, LocalAccount } from "viem";
import { GotongError } from "../common/errors.ts";
import { parseJsonObject, readBody, sendError, sendJson, setServerTimeouts } from "../common/http.ts";
import type { Logger } from "../common/logger.ts";
import type { VoucherDomain } from "../protocol/voucher.ts";
import { decodeEvidence, hashEvidenceReceipt } from "../verification/index.ts";
import type { Judge } from "./createJudge.ts";
import { signValidation, type validationDomain } from "./validationSignature.ts";

/** Evidence carries a whole request body and answer, base64 and JSON-escaped: generous, but bounded. */
export const VALIDATE_BODY_LIMIT = 4 * 1024 * 1024;

/** What `POST /gotong/validate` answers. */
export type ValidateResponse = {
  fraud: boolean;
  reason: string;
  agreement: number;
  positions: number;
  firstMismatch?: number;
  detail: string;
  /** The receipt's EIP-712 digest: what was signed, and the case id a report of it would open. */
  evidence: `0x${string}`;
  validator: Address;
  /** EIP-712 signature (validationDomain, `Validation`) over `{ evidence, fraud, reason }`. */
  signature: `0x${string}`;
};

/**
 * The validator's HTTP API: `POST /gotong/validate` takes evidence JSON (encodeEvidence), re-runs it
 * and answers the verdict signed by the validator's key; `GET /gotong/validator` says who it is and
 * which weights it holds. An honest verdict counts as a pass for the provider (once per evidence),
 * attested on-chain in batches (`onPass`).
 */
export function createValidatorServer(options: {
  account: LocalAccount;
  judge: Judge;
  paymentDomain: VoucherDomain;
  validationDomain: ReturnType<typeof validationDomain>;
  onPass(provider: Address, evidence: `0x${string}`): void;
  logger: Logger;
  bodyLimit?: number;
}) {
  const { account, judge, logger } = options;
  const validate = async (req: IncomingMessage, res: ServerResponse) => {
    const evidence = decodeEvidence(parseJsonObject(await readBody(req, options.bodyLimit ?? VALIDATE_BODY_LIMIT)));
    const digest = hashEvidenceReceipt(evidence, options.paymentDomain);
    const started = Date.now();
    const verdict = await judge.judge(evidence);
    const signature = await signValidation(account, options.validationDomain, { evidence: digest, fraud: verdict.fraud, reason: verdict.reason });
    // Only a re-run that found the provider's answer right is a pass; bad or unverifiable evidence says nothing of it.
    if (!verdict.fraud && verdict.reason === "ok") options.onPass(evidence.provider, digest);
    logger.info("validated evidence", { evidence: digest.slice(0, 18), provider: evidence.provider, fraud: verdict.fraud, reason: verdict.reason, agreement: verdict.agreement.toFixed(3), positions: verdict.positions, ms: Date.now() - started });
    const body: ValidateResponse = {
      fraud: verdict.fraud,
      reason: verdict.reason,
      agreement: verdict.agreement,
      positions: verdict.positions,
      ...(verdict.firstMismatch !== undefined ? { firstMismatch: verdict.firstMismatch } : {}),
      detail: verdict.detail,
      evidence: digest,
      validator: account.address,
      signature,
    };
    sendJson(res, 200, body);
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const handle = async () => {
      if (path === "/gotong/validate") {
        if (req.method !== "POST") throw new GotongError(`${req.method} is not allowed on ${path}`, { code: "method_not_allowed", status: 405, hint: "POST evidence JSON (encodeEvidence) to it." });
        return validate(req, res);
      }
      if (path === "/gotong/validator" && req.method === "GET") {
        return sendJson(res, 200, { validator: account.address, weightsHashes: judge.weightsHashes });
      }
      throw new GotongError(`No route ${req.method} ${path}`, { code: "not_found", status: 404, hint: "The validator serves POST /gotong/validate and GET /gotong/validator." });
    };
    handle().catch((error: unknown) => {
      if (!(error instanceof GotongError) || error.status >= 500) logger.warn("validate failed", { error: error as Error });
      sendError(res, error);
    });
  });
  setServerTimeouts(server);
  return server;
}
