import { GotongError } from "../common/errors.ts";
import type { AgentErrorCode } from "../protocol/errorCodes.ts";

export { agentErrorCodes, type AgentErrorCode } from "../protocol/errorCodes.ts";

/**
 * A refusal of an agent wallet's policy or of the agent SDK, with a code that can only be an
 * agent code. Default status 403: a policy said no, and nothing was spent.
 *
 * @example throw agentRefusedError("wallet_paused", "The owner has paused this agent wallet: nothing was spent");
 */
export function agentRefusedError(code: AgentErrorCode, message: string, options: { hint?: string; status?: number; cause?: unknown } = {}): GotongError {
  return new GotongError(message, { code, status: options.status ?? 403, hint: options.hint, cause: options.cause });
}
