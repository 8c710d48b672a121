import { GotongError } from "../../common/errors.ts";
import { encodeEvidence, type Evidence } from "../../verification/evidence.ts";

/** What a validator answered for a piece of evidence (its `POST /gotong/validate`). */
export type ValidatorVerdict = {
  /** The validator's base URL, as configured. */
  validator: string;
  fraud: boolean;
  /** Why: "ok", "different_output", "inflated_output_tokens", "inflated_input_tokens", "weights_mismatch", "bad_evidence". */
  reason: string;
  /** Share of positions at which the validator's own run agreed with the provider's answer. */
  agreement?: number;
  /** The validator's signature over its verdict, when it gives one (kept for the log). */
  signature?: string;
};

/** How long one validator may take: a re-run of a short answer on a CPU takes seconds. Default 120 s. */
const DEFAULT_TIMEOUT_MS = 120_000;

/** The validate route of a validator given by base URL (or by the route itself). */
export function validateUrlOf(validator: string): string {
  const base = validator.replace(/\/+$/, "");
  return base.endsWith("/gotong/validate") ? base : `${base}/gotong/validate`;
}

/**
 * Asks one validator to re-run evidence (`POST /gotong/validate`, the evidence as encodeEvidence
 * writes it) and reads its verdict.
 *
 * @throws GotongError `validator_unavailable` when it cannot be reached, answers other than 200, or
 *   answers something that is not a verdict.
 * @example const verdict = await askValidator("http://127.0.0.1:8700", evidence);
 */
export async function askValidator(validator: string, evidence: Evidence, options: { timeoutMs?: number; fetch?: typeof fetch } = {}): Promise<ValidatorVerdict> {
  const url = validateUrlOf(validator);
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(encodeEvidence(evidence)),
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (cause) {
    throw unavailable(validator, `cannot be reached (${(cause as Error).message})`, cause);
  }
  const text = await response.text().catch(() => "");
  if (response.status !== 200) throw unavailable(validator, `answered ${response.status}: ${text.slice(0, 200)}`);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw unavailable(validator, "answered something that is not JSON", cause);
  }
  if (typeof body.fraud !== "boolean" || typeof body.reason !== "string") throw unavailable(validator, `answered no verdict ({ fraud, reason }): ${text.slice(0, 200)}`);
  return {
    validator,
    fraud: body.fraud,
    reason: body.reason,
    ...(typeof body.agreement === "number" ? { agreement: body.agreement } : {}),
    ...(typeof body.signature === "string" ? { signature: body.signature } : {}),
  };
}

/**
 * Asks the validators in turn, starting at `start` (so challenges spread over them), until one
 * gives a verdict.
 *
 * @throws GotongError `validator_unavailable` naming each validator and why, when none answered.
 */
export async function askValidators(validators: readonly string[], evidence: Evidence, start = 0, options: { timeoutMs?: number; fetch?: typeof fetch } = {}): Promise<ValidatorVerdict> {
  if (validators.length === 0) throw new GotongError("No validator to ask", { code: "validator_unavailable", hint: "Pass --validator URL to the gateway." });
  const failures: string[] = [];
  for (let i = 0; i < validators.length; i++) {
    const validator = validators[(start + i) % validators.length]!;
    try {
      return await askValidator(validator, evidence, options);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  throw new GotongError(`No validator gave a verdict: ${failures.join("; ")}`, { code: "validator_unavailable", retryable: true, hint: "Check that the validators given with --validator run (`gotong validator start`)." });
}

const unavailable = (validator: string, why: string, cause?: unknown) =>
  new GotongError(`The validator ${validator} ${why}`, { code: "validator_unavailable", retryable: true, cause, hint: "Check that it runs (`gotong validator start`) and that --validator names its URL." });
