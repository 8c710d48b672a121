import type { Address } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { GotongError } from "../../common/errors.ts";

/** The deployment's DerivationCourt address, or a clear error on a deployment made before it. */
export function derivationCourtOf(deployment: Deployment): Address {
  if (!deployment.derivationCourt) {
    throw new GotongError("This deployment has no DerivationCourt contract, so derivation disputes cannot be opened on it", {
      code: "deployment_invalid",
      hint: "Redeploy with this version (`gotong devnet` on a fresh home, or `gotong deploy`), which deploys it and writes `derivationCourt` into the deployment file.",
    });
  }
  return deployment.derivationCourt;
}
