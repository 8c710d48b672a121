import { erc20Abi, isAddressEqual, parseEventLogs, type Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { ProviderRegistryArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { chainTime } from "../funding/chainTime.ts";
import { formatChainTime, formatDuration } from "../common/parseDuration.ts";

/** What `exitProvider` paid back. Amounts in token base units. */
export type StakeWithdrawal = { hash: Hex; amount: bigint; transferred: bigint };

type ProviderRecord = { registered: boolean; stake: bigint; unstaking: bigint; unstakeReadyAt: bigint };

/**
 * Withdraws the provider's unbonded stake once the registry's delay is over. Before then it refuses,
 * saying when it becomes possible (chain time); with nothing unbonding it says to unstake first.
 *
 * @param clients Clients acting as the provider.
 * @returns The amount (`StakeWithdrawn`) and the token transfer that paid it.
 * @example const { amount } = await exitProvider(clients, deployment);
 */
export async function exitProvider(clients: ChainClients, deployment: Deployment): Promise<StakeWithdrawal> {
  const registry = { address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi } as const;
  const me = clients.account.address;
  const record = (await clients.public.readContract({ ...registry, functionName: "getProvider", args: [me] })) as unknown as ProviderRecord;
  if (!record.registered) throw new GotongError(`${me} is not a registered provider`, { code: "not_registered", hint: "Pass the provider's --name or --key." });
  if (record.unstaking === 0n) {
    throw new GotongError(record.stake > 0n ? `Nothing is unbonding: ${record.stake} base units are still staked` : "Nothing is staked or unbonding", {
      code: "nothing_unbonding",
      hint: record.stake > 0n ? "Run `gotong provider unstake` first; exit withdraws the stake after the unbonding delay." : "This provider has nothing left in the registry.",
    });
  }
  const readyAt = BigInt(record.unstakeReadyAt);
  const now = await chainTime(clients.public);
  if (now < readyAt) {
    throw new GotongError(`The stake is unbonding until ${formatChainTime(readyAt)} (chain time, in ${formatDuration(readyAt - now)}): it cannot be withdrawn before`, {
      code: "unbonding",
      retryable: true,
      hint: "Run `gotong provider exit` again after that time; `gotong provider status` shows it.",
    });
  }
  const { hash, receipt } = await writeAndWait(clients, { ...registry, functionName: "withdrawStake" });
  const [event] = parseEventLogs({ abi: ProviderRegistryArtifact.abi, logs: receipt.logs.filter((l) => isAddressEqual(l.address, deployment.providerRegistry)), eventName: "StakeWithdrawn" });
  const transferred = parseEventLogs({ abi: erc20Abi, logs: receipt.logs.filter((l) => isAddressEqual(l.address, deployment.token.address)), eventName: "Transfer" })
    .filter((t) => isAddressEqual(t.args.from, deployment.providerRegistry) && isAddressEqual(t.args.to, me))
    .reduce((sum, t) => sum + t.args.value, 0n);
  return { hash, amount: event?.args.amount ?? 0n, transferred };
}
