import type { ModelFingerprint } from "./modelManifest.ts";

/** A registered model to compare with: its id, name and the fingerprint its signed manifest carries. */
export type FingerprintCandidate = { modelId: bigint; name: string; fingerprint: ModelFingerprint | undefined };

/** A registered model that the model at hand plainly derives from, and why we think so. */
export type FingerprintMatch = { modelId: bigint; name: string; reason: string };

/**
 * The registered model a new one most plainly derives from, or undefined: first one with the same
 * architecture, tensor names and shapes and vocabulary (a re-upload, a quantisation or a full
 * fine-tune), else one whose name a `general.base_model.N.name` field of the new file gives.
 * The lowest id wins among equals: the original is older than its copies.
 *
 * @example findFingerprintMatch(fingerprint, candidates)?.modelId
 */
export function findFingerprintMatch(fingerprint: ModelFingerprint, candidates: readonly FingerprintCandidate[]): FingerprintMatch | undefined {
  const sorted = [...candidates].sort((a, b) => (a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : 0));
  for (const candidate of sorted) {
    const other = candidate.fingerprint;
    if (other === undefined || other.architecture !== fingerprint.architecture || other.tensorsHash !== fingerprint.tensorsHash) continue;
    if (other.vocabularyHash !== fingerprint.vocabularyHash) continue;
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
