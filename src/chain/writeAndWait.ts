import { BaseError, ContractFunctionRevertedError, InsufficientFundsError, type Abi, type Address, type Hex, type TransactionReceipt } from "viem";
import { GotongError } from "../common/errors.ts";
import type { ChainClients } from "./createClients.ts";

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
    if (receipt.status !== "success") throw new GotongError(`${call.functionName} transaction ${hash} reverted`, { code: "transaction_reverted", status: 502 });
    return { hash, receipt, result };
  } catch (error) {
    throw toChainError(error, call.functionName, clients.account.address);
  }
}

/**
 * Turns a viem error into a GotongError with the revert reason when there is one. `account`, the
 * sender when known, goes into the hint when the account lacks gas or tokens: on the devnet the
 * fix is one command (`gotong devnet fund`), and a fresh key meets this first.
 */
export function toChainError(error: unknown, what: string, account?: Address): unknown {
  if (error instanceof GotongError) return error;
  if (error instanceof BaseError) {
    const who = account ?? "ADDRESS";
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (revert?.data?.errorName) {
      const args = (revert.data.args ?? []).map((a) => String(a)).join(", ");
      const broke = revert.data.errorName === "ERC20InsufficientBalance";
      return new GotongError(`${what} was refused by the contract: ${revert.data.errorName}(${args})`, {
        code: "contract_revert",
        status: 400,
        hint: broke ? `The account holds too few tokens. On the local devnet: \`gotong devnet fund ${who} --tokens 1000\`; elsewhere, send it tokens.` : undefined,
        cause: error,
      });
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
      return new GotongError(`Cannot reach the chain's RPC for ${what}`, { code: "chain_unreachable", status: 503, retryable: true, hint: "Is the chain running? Start it with `gotong devnet`.", cause: error });
    }
    return new GotongError(`${what} failed: ${error.shortMessage}`, { code: "chain_error", status: 502, cause: error });
  }
  return error;
}
