import type { Address } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { GotongError } from "../common/errors.ts";

/** The deployment's ServingVerification address, or a clear error on a deployment made before it. */
export function servingVerificationOf(deployment: Deployment): Address {
  const address = (deployment as Deployment & { servingVerification?: Address }).servingVerification;
  if (!address) {
    throw new GotongError("This deployment has no ServingVerification contract, so there is nothing to validate for", {
      code: "deployment_invalid",
      hint: "Redeploy with this version (`gotong devnet` on a fresh home, or `gotong deploy`), which deploys it and writes `servingVerification` into the deployment file.",
    });
  }
  return address;
}
