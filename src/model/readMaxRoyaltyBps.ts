import type { PublicClient } from "viem";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";

/**
 * The highest royalty the deployment's ModelRegistry accepts (its public `MAX_ROYALTY_BPS`), read
 * from the contract itself so the CLI's limit cannot drift from the chain's.
 *
 * @example const max = await readMaxRoyaltyBps(client, deployment); // 5000
 */
export async function readMaxRoyaltyBps(client: PublicClient, deployment: Deployment): Promise<number> {
  try {
    return await client.readContract({ address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "MAX_ROYALTY_BPS" });
  } catch (error) {
    throw toChainError(error, "reading the registry's MAX_ROYALTY_BPS");
  }
}

/**
 * Refuses a royalty above the registry's maximum before anything is hashed, signed or sent (the
 * contract would revert with `RoyaltyTooHigh`).
 *
 * @example await checkRoyaltyBps(client, deployment, 6000); // throws royalty_too_high
 */
export async function checkRoyaltyBps(client: PublicClient, deployment: Deployment, royaltyBps: number): Promise<void> {
  const maximum = await readMaxRoyaltyBps(client, deployment);
  if (royaltyBps > maximum) {
    throw new GotongError(`A royalty of ${royaltyBps} bps (${royaltyBps / 100}%) is above the registry's maximum of ${maximum} bps (${maximum / 100}%)`, {
      code: "royalty_too_high",
      param: "royaltyBps",
      hint: `Pass --royalty-bps from 0 to ${maximum} (1000 = 10%); ModelRegistry.MAX_ROYALTY_BPS at ${deployment.modelRegistry} sets the limit.`,
    });
  }
}
