import type { AbiEvent, Hex, PublicClient } from "viem";
import { ModelRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import type { FingerprintCandidate } from "./findFingerprintMatch.ts";
import { hashModelFingerprint } from "./hashModelFingerprint.ts";
import { loadManifest } from "./loadManifest.ts";

const EVENTS = ModelRegistryArtifact.abi.filter((item): item is Extract<(typeof ModelRegistryArtifact.abi)[number], AbiEvent> => item.type === "event" && (item.name === "ModelRegistered" || item.name === "ModelFingerprinted"));

/**
 * Every registered model with its fingerprint, for the re-upload check of `publishModel`. Models
 * and the fingerprint hashes they were registered with come from the registry's `ModelRegistered`
 * and `ModelFingerprinted` events (one `eth_getLogs` from the deployment's start block), so a model
 * published from any machine is compared. A manifest kept in `manifestsDir` under the registered
 * `manifestHash` (its bytes hash to it, so a copy cannot lie) adds the full fingerprint, kept only
 * when it hashes to the one registered: the registry's hash is what every machine sees, so every
 * machine decides alike. A model registered without a fingerprint (by an older client or straight
 * through the contract) whose manifest is not kept here has none: only the `general.base_model`
 * names can match it.
 *
 * @example const candidates = await readRegisteredFingerprints(client, deployment, home.manifests);
 */
export async function readRegisteredFingerprints(client: PublicClient, deployment: Deployment, manifestsDir: string): Promise<FingerprintCandidate[]> {
  let logs;
  try {
    logs = await client.getLogs({ address: deployment.modelRegistry, events: EVENTS, fromBlock: BigInt(deployment.startBlock ?? 0), toBlock: "latest", strict: true });
  } catch (error) {
    throw toChainError(error, "reading registered models");
  }
  const registered: { modelId: bigint; name: string; manifestHash: Hex }[] = [];
  const hashes = new Map<bigint, Hex>();
  for (const log of logs) {
    if (log.eventName === "ModelRegistered") registered.push({ modelId: log.args.modelId, name: log.args.name, manifestHash: log.args.manifestHash });
    // Emitted once, by the registering call: the first is the only one.
    else if (log.eventName === "ModelFingerprinted" && !hashes.has(log.args.modelId)) hashes.set(log.args.modelId, log.args.fingerprint);
  }
  return Promise.all(
    registered.map(async ({ modelId, name, manifestHash }): Promise<FingerprintCandidate> => {
      const signed = await loadManifest(manifestsDir, manifestHash).catch(() => undefined);
      const fingerprintHash = hashes.get(modelId);
      let fingerprint = signed?.manifest.fingerprint;
      if (fingerprint !== undefined && fingerprintHash !== undefined && hashModelFingerprint(fingerprint) !== fingerprintHash.toLowerCase()) fingerprint = undefined;
      return { modelId, name, fingerprint, ...(fingerprintHash !== undefined ? { fingerprintHash } : {}) };
    }),
  );
}
