import { parseEventLogs, type Hex } from "viem";
import type { ChainClients } from "../../chain/createClients.ts";
import { DerivationCourtArtifact } from "../../chain/contracts.generated.ts";
import type { Deployment } from "../../chain/deployment.ts";
import { writeAndWait } from "../../chain/writeAndWait.ts";
import { GotongError } from "../../common/errors.ts";
import { derivationCourtOf } from "./derivationCourtOf.ts";

/**
 * Pays what the derivation court credited the caller (bonds back, fees earned as a validator, a
 * groundless claim's bond as the accused) and returns the amount the contract paid, read from its
 * `EarningsWithdrawn` event. `nothing_to_withdraw` before sending when there is none.
 *
 * @example const { amount } = await withdrawCourtEarnings(clients, deployment);
 */
export async function withdrawCourtEarnings(clients: ChainClients, deployment: Deployment): Promise<{ amount: bigint; transactionHash: Hex }> {
  const court = { address: derivationCourtOf(deployment), abi: DerivationCourtArtifact.abi } as const;
  const me = clients.account.address;
  const owed = await clients.public.readContract({ ...court, functionName: "earnings", args: [me] });
  if (owed === 0n) throw new GotongError(`The derivation court owes ${me} nothing`, { code: "nothing_to_withdraw", hint: "Bonds and fees are credited when a dispute is decided (`gotong model dispute status ID`)." });
  const { hash, receipt } = await writeAndWait(clients, { ...court, functionName: "withdrawEarnings", args: [me] });
  const [paid] = parseEventLogs({ abi: DerivationCourtArtifact.abi, eventName: "EarningsWithdrawn", logs: receipt.logs });
  return { amount: paid?.args.amount ?? 0n, transactionHash: hash };
}
