import type { Address } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { QuadraticFundingArtifact } from "../chain/contracts.generated.ts";
import { GotongError } from "../common/errors.ts";

/**
 * The QuadraticFunding contract of a deployment, ready for viem (`{ address, abi }`). Throws a
 * clear error for a deployment made before funding existed.
 *
 * @example const qf = fundingContract(deployment); await client.readContract({ ...qf, functionName: "roundCount" });
 */
export function fundingContract(deployment: Deployment): { address: Address; abi: typeof QuadraticFundingArtifact.abi } {
  if (!deployment.quadraticFunding) {
    throw new GotongError("This deployment has no QuadraticFunding contract", {
      code: "funding_unavailable",
      hint: "It was deployed before funding rounds existed. On a local devnet, delete GOTONG_HOME/chain and start `gotong devnet` again.",
    });
  }
  return { address: deployment.quadraticFunding, abi: QuadraticFundingArtifact.abi };
}
