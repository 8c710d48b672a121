import { parseEventLogs, type Address, type Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { readModelOwner } from "./readModelOwner.ts";

/** What a royalty withdrawal paid, read from the contract's `ModelEarningsWithdrawn` event. */
export type RoyaltyWithdrawal = { modelId: bigint; amount: bigint; to: Address; transactionHash: Hex };

/**
 * Withdraws the royalties model `modelId` has accrued to the caller, who must own its token now
 * (royalties belong to whoever owns the token when they are withdrawn). Refuses before sending
 * when the caller is not the owner or there is nothing to withdraw. The amount returned is the one
 * the contract paid, from its event.
 *
 * @example const { amount } = await withdrawModelRoyalties(clients, deployment, 1n);
 */
export async function withdrawModelRoyalties(clients: ChainClients, deployment: Deployment, modelId: bigint): Promise<RoyaltyWithdrawal> {
  const me = clients.account.address;
  const owner = await readModelOwner(clients.public, deployment, modelId);
  if (owner.toLowerCase() !== me.toLowerCase()) {
    throw new GotongError(`Model #${modelId} is owned by ${owner}, not by ${me}`, {
      code: "not_model_owner",
      hint: "Only the token's current owner can withdraw its royalties: pass --key FILE with the owner's key.",
    });
  }
  const channels = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const pending = await clients.public.readContract({ ...channels, functionName: "modelEarnings", args: [modelId] });
  if (pending === 0n) {
    throw new GotongError(`Model #${modelId} has no royalties to withdraw`, {
      code: "nothing_to_withdraw",
      hint: "Royalties are credited when a provider redeems the vouchers of paid requests; `gotong earnings` shows what accrued.",
    });
  }
  const { hash, receipt } = await writeAndWait(clients, { ...channels, functionName: "withdrawModelEarnings", args: [modelId, me] });
  const [event] = parseEventLogs({ abi: PaymentChannelsArtifact.abi, eventName: "ModelEarningsWithdrawn", logs: receipt.logs });
  if (!event) throw new GotongError(`withdrawModelEarnings ${hash} was mined without a ModelEarningsWithdrawn event`, { code: "chain_error", status: 502 });
  return { modelId, amount: event.args.amount, to: event.args.to, transactionHash: hash };
}

