import type { PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { isGotongError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { verifyModel } from "../model/verifyModel.ts";

/**
 * Checks the creator's signed manifest for a registered model before serving it: signature, chain
 * and registry binding, and agreement with the registry entry (the weights themselves were already
 * hashed against the registry). A manifest that fails is a refusal to serve; a manifest this
 * machine has never seen is only a warning, since the registry's weights hash still pins the bytes.
 */
export async function checkSignedManifest(client: PublicClient, deployment: Deployment, modelId: bigint, manifestsDir: string, logger: Logger): Promise<void> {
  try {
    const result = await verifyModel(client, deployment, { modelId, manifestsDir });
    logger.info("signed manifest verified", { modelId, creator: result.signer, version: result.manifest.version });
  } catch (error) {
    if (isGotongError(error, "manifest_not_found")) {
      logger.warn("no local copy of this model's signed manifest; serving on the registry's weights hash alone", { modelId });
      return;
    }
    throw error;
  }
}
