import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import { GotongError } from "../common/errors.ts";
import { canonicalJson } from "./canonicalJson.ts";
import type { SignedManifest } from "./modelManifest.ts";
import { parseManifest } from "./parseManifest.ts";
import { sha256Hex } from "./sha256Hex.ts";

// A manifest of 10,000 files is about 1.5 MB; anything far larger is not one.
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/**
 * Loads the signed manifest stored under `manifestHash` in `dir`, checking that its bytes hash to
 * that name, are canonical JSON and hold a well-formed manifest. The signature is not checked
 * here: see `verifyManifestSignature`. Throws `manifest_not_found`, `manifest_corrupt` or
 * `manifest_invalid`.
 *
 * @example const signed = await loadManifest(home.manifests, entry.manifestHash);
 */
export async function loadManifest(dir: string, manifestHash: Hex): Promise<SignedManifest> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(manifestHash)) {
    throw new GotongError(`"${String(manifestHash).slice(0, 80)}" is not a manifest hash.`, { code: "manifest_invalid", hint: "A manifest hash is 0x and 64 hex digits." });
  }
  const hex = manifestHash.slice(2).toLowerCase();
  const path = join(dir, `${hex}.json`);
  let text: string;
  try {
    const { size } = await stat(path);
    if (size > MAX_MANIFEST_BYTES) throw new GotongError(`The manifest ${path} is ${size} bytes: too large to be a manifest.`, { code: "manifest_corrupt", status: 422 });
    text = await readFile(path, "utf8");
  } catch (error) {
    if (error instanceof GotongError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new GotongError(`Manifest 0x${hex} not found in ${dir}.`, {
        code: "manifest_not_found",
        status: 404,
        hint: "Manifests are kept where the model was published (GOTONG_HOME/manifests): copy the creator's <hash>.json into this folder.",
        cause: error,
      });
    }
    throw new GotongError(`Cannot read the manifest ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`, { code: "manifest_unreadable", cause: error });
  }
  const actual = sha256Hex(text);
  if (actual !== hex) {
    throw new GotongError(`The manifest file ${path} was altered: its sha256 is ${actual}, not the 0x${hex} it is stored (and registered) under.`, {
      code: "manifest_corrupt",
      status: 422,
      hint: "Do not trust this copy: get the creator's manifest again.",
    });
  }
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch (cause) {
    throw new GotongError(`The manifest ${path} is not valid JSON.`, { code: "manifest_corrupt", status: 422, cause });
  }
  if (typeof envelope !== "object" || envelope === null || Object.keys(envelope).sort().join(",") !== "manifest,signature") {
    throw new GotongError(`The manifest ${path} is not a signed envelope { manifest, signature }.`, { code: "manifest_invalid", status: 422 });
  }
  const { manifest, signature } = envelope as { manifest: unknown; signature: unknown };
  const signed = { manifest: parseManifest(manifest), signature } as SignedManifest;
  if (canonicalJson(signed) !== text) {
    throw new GotongError(`The manifest ${path} is not in canonical form.`, { code: "manifest_invalid", status: 422, hint: "Manifests are written by `gotong model publish`; do not edit them." });
  }
  return signed;
}
