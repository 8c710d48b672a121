import type { Hex } from "viem";
import { hashModelFingerprint } from "./hashModelFingerprint.ts";
import type { ModelFingerprint } from "./modelManifest.ts";

/**
 * A registered model to compare with: its id, name, the fingerprint its signed manifest carries
 * (when the manifest is kept here) and the fingerprint hash it was registered with
 * (`ModelFingerprinted`, readable from any machine).
 */
export type FingerprintCandidate = { modelId: bigint; name: string; fingerprint: ModelFingerprint | undefined; fingerprintHash?: Hex };

/** A registered model that the model at hand plainly derives from, and why we think so. */
export type FingerprintMatch = { modelId: bigint; name: string; reason: string };

/**
 * The registered model a new one most plainly derives from, or undefined: first one with the same
 * architecture, tensor names and shapes and vocabulary (a re-upload, a quantisation or a full
 * fine-tune), else one whose name a `general.base_model.N.name` field of the new file gives.
 * The lowest id wins among equals: the original is older than its copies. A candidate is compared
 * by its on-chain fingerprint hash when it has one (the same from every machine), else by the
 * fields of its manifest's fingerprint: `hashModelFingerprint` hashes exactly those fields, so
 * both ways agree.
 *
 * @example findFingerprintMatch(fingerprint, candidates)?.modelId
 */
export function findFingerprintMatch(fingerprint: ModelFingerprint, candidates: readonly FingerprintCandidate[]): FingerprintMatch | undefined {
  const sorted = [...candidates].sort((a, b) => (a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : 0));
  const hash = hashModelFingerprint(fingerprint);
  for (const candidate of sorted) {
    const other = candidate.fingerprintHash ?? (candidate.fingerprint !== undefined ? hashModelFingerprint(candidate.fingerprint) : undefined);
    if (other?.toLowerCase() !== hash) continue;
    const vocabulary = fingerprint.vocabularySize !== undefined ? `, the same ${fingerprint.vocabularySize}-token vocabulary` : "";
    return { modelId: candidate.modelId, name: candidate.name, reason: `the same architecture (${fingerprint.architecture}), the same ${fingerprint.tensorCount} tensor names and shapes${vocabulary}` };
  }
  const named = (fingerprint.baseModels ?? []).map((b) => b.split("|")[0]!.trim().toLowerCase()).filter((n) => n !== "");
  for (const candidate of sorted) {
    if (named.includes(candidate.name.trim().toLowerCase())) {
      return { modelId: candidate.modelId, name: candidate.name, reason: `its GGUF metadata names "${candidate.name}" as its base model (general.base_model)` };
    }
  }
  return undefined;
}
