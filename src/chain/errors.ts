import type { Hex } from "viem";
import { GotongError } from "../common/errors.ts";

export { chainErrorCodes, type ChainErrorCode } from "../protocol/errorCodes.ts";

/**
 * A contract refused a call with one of its custom errors (or `Error(string)` / `Panic`), decoded
 * by {@link decodeContractError}: code `contract_revert`, status 400. Its fields let a caller
 * pick a hint or a special case by the error's name instead of reading the message.
 */
export class ContractRevertError extends GotongError {
  /** The contract that declares the error (`QuadraticFunding`; `A or B` when several do and the called one is unknown). */
  readonly contract: string | undefined;
  /** The custom error's name (`DonationWindowClosed`), undefined when no Gotong contract declares it. */
  readonly errorName: string | undefined;
  /** The error's decoded arguments, in order. */
  readonly args: readonly unknown[];
  /** The raw revert data. */
  readonly data: Hex;
  /** The refusal itself, `DonationWindowClosed(roundId=3, …)`: the message without what was attempted or by whom. */
  readonly refusal: string;

  constructor(
    message: string,
    options: { contract: string | undefined; errorName: string | undefined; args: readonly unknown[]; data: Hex; refusal?: string; hint?: string; cause?: unknown },
  ) {
    super(message, { code: "contract_revert", status: 400, hint: options.hint, cause: options.cause });
    this.name = "ContractRevertError";
    this.contract = options.contract;
    this.errorName = options.errorName;
    this.args = options.args;
    this.data = options.data;
    this.refusal = options.refusal ?? message;
  }

  /** The same refusal with `hint` (the caller knows what to do about this error). */
  withHint(hint: string): ContractRevertError {
    return new ContractRevertError(this.message, { contract: this.contract, errorName: this.errorName, args: this.args, data: this.data, refusal: this.refusal, hint, cause: this.cause });
  }
}

/** The chain's RPC cannot be reached (retryable, 503). */
export function chainUnreachableError(what: string, cause?: unknown): GotongError {
  return new GotongError(`Cannot reach the chain's RPC for ${what}`, {
    code: "chain_unreachable",
    status: 503,
    retryable: true,
    hint: "Is the chain running? Start it with `gotong devnet`.",
    cause,
  });
}

/** A mined transaction reverted (the simulation before it passed: state moved in between). */
export function transactionRevertedError(what: string, hash: Hex): GotongError {
  return new GotongError(`${what} transaction ${hash} reverted`, {
    code: "transaction_reverted",
    status: 502,
    hint: "The chain's state changed between the check and the block; only the gas was spent. Try again.",
  });
}

/** Deploying one of Gotong's contracts failed: the transaction reverted or made no contract. */
export function deployFailedError(contract: string, detail: string, cause?: unknown): GotongError {
  return new GotongError(`Deploying ${contract} failed: ${detail}`, {
    code: "deploy_failed",
    status: 502,
    hint: "Check that the RPC URL is the chain you mean, that the deploying account holds native coin for gas, and that the chain supports the Cancun EVM (the contracts need it).",
    cause,
  });
}
