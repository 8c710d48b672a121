import type { PublicClient } from "viem";
import { ERC3009DepositCollectorArtifact, X402BatchSettlementArtifact } from "./contracts.generated.ts";
import { GotongError } from "../common/errors.ts";
import { BATCH_SETTLEMENT_ADDRESS, ERC3009_DEPOSIT_COLLECTOR_ADDRESS } from "../protocol/x402/batchSettlement.ts";

/**
 * Whether the x402 batch-settlement contract and its ERC-3009 collector are at their canonical
 * addresses on this chain (on a real network they are deployed once for everyone; a provider
 * offers the scheme only where they are).
 *
 * @example if (await hasBatchSettlement(clients.public)) { ... }
 */
export async function hasBatchSettlement(client: PublicClient): Promise<boolean> {
  const [settlement, collector] = await Promise.all([
    client.getCode({ address: BATCH_SETTLEMENT_ADDRESS }),
    client.getCode({ address: ERC3009_DEPOSIT_COLLECTOR_ADDRESS }),
  ]);
  return !!settlement && settlement !== "0x" && !!collector && collector !== "0x";
}

/**
 * Installs Gotong's X402BatchSettlement and ERC3009DepositCollector runtime code at the canonical
 * addresses of a local Anvil devnet (`anvil_setCode`): their EIP-712 domain and the client's
 * deposit authorization name those addresses, so a deployment elsewhere would not do. The code
 * keeps no constructor state, so it works as installed. Does nothing where code is there already.
 *
 * @example await installBatchSettlement(devnetPublicClient);
 */
export async function installBatchSettlement(client: PublicClient): Promise<void> {
  if (await hasBatchSettlement(client)) return;
  try {
    await client.request({ method: "anvil_setCode" as never, params: [BATCH_SETTLEMENT_ADDRESS, X402BatchSettlementArtifact.deployedBytecode] as never });
    await client.request({ method: "anvil_setCode" as never, params: [ERC3009_DEPOSIT_COLLECTOR_ADDRESS, ERC3009DepositCollectorArtifact.deployedBytecode] as never });
  } catch (cause) {
    throw new GotongError("The x402 batch-settlement contracts can be installed on a local Anvil devnet only", {
      code: "x402_unavailable",
      hint: "On a real network the canonical contracts are deployed already; check the RPC URL points at the chain you mean.",
      cause,
    });
  }
}
