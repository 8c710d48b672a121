import { BaseError, InsufficientFundsError, type Abi, type Address, type Hex, type TransactionReceipt } from "viem";
import { GotongError } from "../common/errors.ts";
import type { ChainClients } from "./createClients.ts";
import { decodeContractError } from "./decodeContractError.ts";
import { chainUnreachableError, transactionRevertedError } from "./errors.ts";

/**
 * Simulates a contract call, sends it, and waits for it to be mined. A revert becomes a GotongError
 * naming the contract's custom error and its arguments (e.g. `VoucherNotIncreasing(100, 90)`).
 */
export async function writeAndWait(
  clients: ChainClients,
  call: { address: Address; abi: Abi | readonly unknown[]; functionName: string; args?: readonly unknown[] },
): Promise<{ hash: Hex; receipt: TransactionReceipt; result: unknown }> {
  try {
    const { request, result } = await clients.public.simulateContract({
      address: call.address,
      abi: call.abi as Abi,
      functionName: call.functionName,
      args: call.args as unknown[],
      account: clients.account,
    });
    const hash = await clients.wallet.writeContract(request as never);
    const receipt = await clients.public.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw transactionRevertedError(call.functionName, hash);
    return { hash, receipt, result };
  } catch (error) {
    throw toChainError(error, call.functionName, clients.account.address, call.abi);
  }
}

/**
 * Turns a viem error into a GotongError. A contract's refusal is decoded by name with its values
 * from every Gotong contract's errors (a revert bubbled up through an agent wallet included), so
 * no raw selector reaches a user; `abi`, the called contract's, names the contract when several
 * declare the error. `account`, the sender when known, goes into the hint when the account lacks
 * gas or tokens: on the devnet the fix is one command (`gotong devnet fund`), and a fresh key
 * meets this first.
 */
export function toChainError(error: unknown, what: string, account?: Address, abi?: readonly unknown[]): unknown {
  if (error instanceof GotongError) return error;
  if (error instanceof BaseError) {
    const who = account ?? "ADDRESS";
    const refusal = decodeContractError(error, { what, abi });
    if (refusal) {
      const broke = refusal.errorName === "ERC20InsufficientBalance";
      return broke ? refusal.withHint(`The account holds too few tokens. On the local devnet: \`gotong devnet fund ${who} --tokens 1000\`; elsewhere, send it tokens.`) : refusal;
    }
    if (error.walk((e) => e instanceof InsufficientFundsError) || /exceeds the balance of the account/i.test(error.message)) {
      return new GotongError(`${what} failed: ${account ? `${account} has` : "the account has"} too little native coin to pay for gas (${error.shortMessage})`, {
        code: "insufficient_funds",
        status: 402,
        hint: `On the local devnet, get test coin with \`gotong devnet fund ${who}\` (add --tokens N for test tokens too); on another network, send native coin to the account.`,
        cause: error,
      });
    }
    if (/fetch failed|ECONNREFUSED|HTTP request failed/i.test(error.message)) {
      return chainUnreachableError(what, error);
    }
    return new GotongError(`${what} failed: ${error.shortMessage}`, { code: "chain_error", status: 502, cause: error });
  }
  return error;
}
