import { erc20Abi, type Address } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import type { Logger } from "../common/logger.ts";
import { ServingVerificationArtifact } from "../chain/contracts.generated.ts";

/**
 * Makes the chain say what this validator is: registered with at least the minimum stake (pulled
 * from its account, `stake` or the minimum) and reachable at `endpoint`. Sends only the transactions
 * needed, so a restart costs nothing.
 *
 * @returns The stake registered now.
 */
export async function ensureValidatorRegistered(clients: ChainClients, deployment: Deployment, servingVerification: Address, options: { endpoint: string; stake?: bigint; logger?: Logger }): Promise<bigint> {
  const contract = { address: servingVerification, abi: ServingVerificationArtifact.abi } as const;
  const me = clients.account.address;
  const record = await clients.public.readContract({ ...contract, functionName: "getValidator", args: [me] });
  let stake = record.stake;
  if (!record.registered) {
    stake = options.stake ?? (await clients.public.readContract({ ...contract, functionName: "minValidatorStake" }));
    await writeAndWait(clients, { address: deployment.token.address, abi: erc20Abi, functionName: "approve", args: [servingVerification, stake] });
    await writeAndWait(clients, { ...contract, functionName: "registerValidator", args: [stake] });
    options.logger?.info("registered as validator", { address: me, stake });
  }
  const endpoint = await clients.public.readContract({ ...contract, functionName: "validatorEndpoint", args: [me] });
  if (endpoint !== options.endpoint) {
    await writeAndWait(clients, { ...contract, functionName: "setValidatorEndpoint", args: [options.endpoint] });
    options.logger?.info("validator endpoint set", { endpoint: options.endpoint });
  }
  return stake;
}
