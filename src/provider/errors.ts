import type { Address } from "viem";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";

export { providerErrorCodes, type ProviderErrorCode } from "../protocol/errorCodes.ts";

/**
 * A redeem run that failed before it finished (the chain could not be asked, a transaction could
 * not be sent, the store failed), as a GotongError: a chain error keeps its own code
 * (`chain_unreachable`, `insufficient_funds`, `contract_revert`), anything else is
 * `redeem_failed`. Nothing is lost either way: the vouchers stay stored and the next run tries again.
 *
 * @example redeemOnce().catch((error) => { throw redeemFailedError(error, me); });
 */
export function redeemFailedError(error: unknown, account: Address): GotongError {
  if (error instanceof GotongError) return error;
  // Every redeem call goes to PaymentChannels: its name, not every contract declaring the error.
  const chainError = toChainError(error, "redeeming vouchers", account, PaymentChannelsArtifact.abi);
  if (chainError instanceof GotongError) return chainError;
  return new GotongError(`Redeeming vouchers failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`, {
    code: "redeem_failed",
    status: 502,
    retryable: true,
    hint: "The vouchers stay stored; the next run (or `gotong provider redeem`) tries again.",
    cause: error,
  });
}
