import type { PublicClient } from "viem";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import type { FingerprintCandidate } from "./findFingerprintMatch.ts";
import { loadManifest } from "./loadManifest.ts";

/**
 * Every registered model with the fingerprint its signed manifest carries, for the re-upload check
 * of `publishModel`. Models come from the registry's `ModelRegistered` events; a manifest is read
 * from `manifestsDir` under the registered `manifestHash` (its bytes hash to it, so a copy cannot
 * lie), and a model whose manifest is not kept here, or predates fingerprints, has none: only the
 * `general.base_model` names can match it.
 *
 * @example const candidates = await readRegisteredFingerprints(client, deployment, home.manifests);
 */
export async function readRegisteredFingerprints(client: PublicClient, deployment: Deployment, manifestsDir: string): Promise<FingerprintCandidate[]> {
  let events;
  try {
    events = await client.getContractEvents({
      address: deployment.modelRegistry,
      abi: ModelRegistryArtifact.abi,
      eventName: "ModelRegistered",
      fromBlock: BigInt(deployment.startBlock ?? 0),
      toBlock: "latest",
    });
  } catch (error) {
    throw toChainError(error, "reading registered models");
  }
  return Promise.all(
    events.map(async (event): Promise<FingerprintCandidate> => {
      const signed = await loadManifest(manifestsDir, event.args.manifestHash!).catch(() => undefined);
      return { modelId: event.args.modelId!, name: event.args.name!, fingerprint: signed?.manifest.fingerprint };
    }),
  );
}
