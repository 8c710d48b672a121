import { parseEventLogs, parseSignature, type Address, type Hex } from "viem";
import type { ChainClients } from "../../chain/createClients.ts";
import { X402SplitterArtifact } from "../../chain/contracts.generated.ts";
import { ContractRevertError } from "../../chain/errors.ts";
import { writeAndWait } from "../../chain/writeAndWait.ts";
import { X402_ERROR_REASONS, type X402ErrorReason } from "../../protocol/x402/x402ErrorReasons.ts";
import type { ExactEvmAuthorization } from "../../protocol/x402/x402Types.ts";

/** The on-chain split of one settled payment, as X402Splitter's `PaymentSplit` event reports it. */
export type SettledSplit = { transaction: Hex; amount: bigint; providerShare: bigint; royalty: bigint; fee: bigint };

/** A settlement the chain refused, with the x402 reason and the contract's own error. */
export type SettlementFailure = { ok: false; reason: X402ErrorReason; message: string };

/** The x402 reason for a contract error raised while settling. */
function reasonOf(errorName: string | undefined): X402ErrorReason {
  switch (errorName) {
    case "ERC3009UsedAuthorization":
      return X402_ERROR_REASONS.nonceAlreadyUsed;
    case "ERC3009InvalidAuthorizationTime":
      return X402_ERROR_REASONS.validBefore;
    case "ERC3009InvalidSignature":
      return X402_ERROR_REASONS.signature;
    case "ERC20InsufficientBalance":
      return X402_ERROR_REASONS.insufficientFunds;
    default:
      return X402_ERROR_REASONS.transactionState;
  }
}

/**
 * Submits a verified EIP-3009 authorization through X402Splitter's `settle` (the provider's key
 * pays the gas) and waits for it: one transaction moves the payment into the (provider, model)
 * payee and splits it into royalty, protocol fee and provider share.
 *
 * @example const settled = await settleExactPayment(clients, { splitter, provider, modelId, authorization, signature });
 */
export async function settleExactPayment(
  clients: ChainClients,
  args: { splitter: Address; provider: Address; modelId: bigint; authorization: ExactEvmAuthorization; signature: Hex },
): Promise<({ ok: true } & SettledSplit) | SettlementFailure> {
  const { authorization: a } = args;
  const { r, s, v, yParity } = parseSignature(args.signature);
  const call = {
    from: a.from,
    value: BigInt(a.value),
    validAfter: BigInt(a.validAfter),
    validBefore: BigInt(a.validBefore),
    nonce: a.nonce,
    v: Number(v ?? BigInt(yParity + 27)),
    r,
    s,
  };
  try {
    const { hash, receipt } = await writeAndWait(clients, {
      address: args.splitter,
      abi: X402SplitterArtifact.abi,
      functionName: "settle",
      args: [args.provider, args.modelId, call],
    });
    const [split] = parseEventLogs({ abi: X402SplitterArtifact.abi, eventName: "PaymentSplit", logs: receipt.logs });
    if (!split) return { ok: false, reason: X402_ERROR_REASONS.transactionState, message: `Transaction ${hash} settled no split` };
    const { amount, providerShare, royalty, fee } = split.args;
    return { ok: true, transaction: hash, amount, providerShare, royalty, fee };
  } catch (error) {
    if (error instanceof ContractRevertError) return { ok: false, reason: reasonOf(error.errorName), message: error.message };
    return { ok: false, reason: X402_ERROR_REASONS.unexpectedSettle, message: (error as Error).message };
  }
}
