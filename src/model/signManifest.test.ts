import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalJson } from "./canonicalJson.ts";
import { computeWeightsHash } from "./computeWeightsHash.ts";
import { gotongRejectionOf } from "../../test/helpers/gotongErrorOf.ts";
import { loadManifest } from "./loadManifest.ts";
import { MANIFEST_SCHEMA, type ManifestFile, type ModelManifest, type SignedManifest } from "./modelManifest.ts";
import { parseManifest } from "./parseManifest.ts";
import { sha256Hex } from "./sha256Hex.ts";
import { signManifest } from "./signManifest.ts";
import { storeManifest } from "./storeManifest.ts";
import { verifyManifestSignature } from "./verifyManifestSignature.ts";

const alice = privateKeyToAccount(generatePrivateKey());
const mallory = privateKeyToAccount(generatePrivateKey());
const REGISTRY = getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3");
const OTHER_REGISTRY = getAddress("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512");

const files: ManifestFile[] = [
  { path: "model-00001-of-00002.safetensors", sha256: "a".repeat(64), size: 100 },
  { path: "model-00002-of-00002.safetensors", sha256: "b".repeat(64), size: 50 },
];

function manifestOf(overrides: Partial<ModelManifest> = {}): ModelManifest {
  const base: ModelManifest = {
    schema: MANIFEST_SCHEMA,
    name: "tiny-llama",
    version: "1.0.0",
    format: "safetensors",
    files,
    weightsHash: computeWeightsHash(files),
    architecture: "llama",
    parameterCount: 1234,
    contextLength: 2048,
    license: "Apache-2.0",
    royaltyBps: 1000,
    creator: alice.address,
    chainId: 31337,
    modelRegistry: REGISTRY,
  };
  const merged = { ...base, ...overrides };
  if (overrides.files && !overrides.weightsHash) merged.weightsHash = computeWeightsHash(overrides.files);
  return merged;
}

const codeOf = async (run: Promise<unknown> | (() => unknown)) => (await gotongRejectionOf(run)).code;

describe("canonicalJson", () => {
  it("sorts keys at every depth, drops undefined and writes no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: "x" }, u: undefined })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });
  it("sorts by UTF-16 code unit, as RFC 8785 does, and escapes as JSON.stringify does", () => {
    // U+FF5E sorts after U+1F600 by code unit (0xFF5E > 0xD83D), before it by code point.
    expect(canonicalJson({ "é": 1, z: 2, Z: 3, "\uff5e": 4, "😀": 5 })).toBe('{"Z":3,"z":2,"é":1,"😀":5,"\uff5e":4}');
    expect(canonicalJson({ s: 'a"\\\n\u0001' })).toBe('{"s":"a\\"\\\\\\n\\u0001"}');
  });
  it("is the same however the object was built, and survives a JSON round trip", () => {
    const a = canonicalJson(manifestOf());
    const reordered = Object.fromEntries(Object.entries(manifestOf()).reverse());
    expect(canonicalJson(reordered)).toBe(a);
    expect(canonicalJson(JSON.parse(a))).toBe(a);
  });
  it("refuses numbers with several spellings and values JSON cannot hold", async () => {
    for (const bad of [1.5, NaN, Infinity, 2 ** 53, 1n, () => 1, Symbol("x"), new Date(0), new Map()]) {
      expect(await codeOf(() => canonicalJson({ x: bad }))).toBe("manifest_invalid");
    }
    expect(canonicalJson(-0)).toBe("0");
  });
});

describe("computeWeightsHash", () => {
  it("is the file's sha256 for one file, so a single GGUF keeps the hash sha256sum prints", () => {
    expect(computeWeightsHash([files[0]!])).toBe(`0x${"a".repeat(64)}`);
  });
  it("is the sha256 of the canonical files list for several, whatever their order", () => {
    const expected = `0x${sha256Hex(canonicalJson(files))}`;
    expect(computeWeightsHash(files)).toBe(expected);
    expect(computeWeightsHash([...files].reverse())).toBe(expected);
  });
  it("changes when any file is renamed, resized, changed, added or dropped", () => {
    const base = computeWeightsHash(files);
    const variants = [
      [{ ...files[0]!, path: "renamed.safetensors" }, files[1]!],
      [{ ...files[0]!, size: 101 }, files[1]!],
      [{ ...files[0]!, sha256: "c".repeat(64) }, files[1]!],
      [...files, { path: "extra.json", sha256: "d".repeat(64), size: 1 }],
      [files[0]!, { path: "x", sha256: "e".repeat(64), size: 0 }],
    ];
    for (const v of variants) expect(computeWeightsHash(v)).not.toBe(base);
  });
});

describe("parseManifest", () => {
  it("accepts a well-formed manifest, with or without the optional fields", () => {
    expect(parseManifest(manifestOf())).toEqual(manifestOf());
    const { parameterCount: _p, contextLength: _c, ...bare } = manifestOf();
    expect(parseManifest(bare).name).toBe("tiny-llama");
  });
  it("refuses paths that could leave the folder or be read two ways", async () => {
    for (const path of ["../evil.safetensors", "a/../../b", "/etc/passwd", "a//b", "./a", "a\\b", "C:/x", "a/", "", "x\u0000y", "x\ny"]) {
      const bad = manifestOf({ files: [{ path, sha256: "a".repeat(64), size: 1 }] });
      expect(await codeOf(() => parseManifest(bad)), path).toBe("manifest_invalid");
    }
    expect(parseManifest(manifestOf({ files: [{ path: "sub/dir/model.gguf", sha256: "a".repeat(64), size: 1 }] })).files).toHaveLength(1);
  });
  it("refuses files out of order or listed twice, and a weightsHash that does not match them", async () => {
    expect(await codeOf(() => parseManifest({ ...manifestOf(), files: [...files].reverse() }))).toBe("manifest_invalid");
    expect(await codeOf(() => parseManifest(manifestOf({ files: [files[0]!, files[0]!] })))).toBe("manifest_invalid");
    expect(await codeOf(() => parseManifest({ ...manifestOf(), weightsHash: `0x${"f".repeat(64)}` }))).toBe("manifest_invalid");
  });
  it("refuses bad licences, versions, names, royalties, addresses, unknown fields and other schemas", async () => {
    const bad: Partial<Record<keyof ModelManifest | "extra", unknown>>[] = [
      { license: "MIT; rm -rf /" },
      { license: "(MIT OR Apache-2.0)" },
      { license: "" },
      { version: "latest" },
      { version: "1.0.0 beta" },
      { name: "" },
      { name: " padded" },
      { name: "bell\u0007" },
      { royaltyBps: 10_001 },
      { royaltyBps: 1.5 },
      // Not checksummed (a fixed address whose checksum has capitals: a random key's may have none, about once in 30,000).
      { creator: REGISTRY.toLowerCase() },
      { creator: "0x1234" },
      { chainId: 0 },
      { format: "pickle" },
      { architecture: "llama; drop" },
      { schema: "gotong.manifest/2" },
      { extra: "smuggled" },
      { files: [] },
    ];
    for (const override of bad) {
      const code = await codeOf(() => parseManifest({ ...manifestOf(), ...override })).catch((error: Error) => `${error.message} for ${JSON.stringify(override)}`);
      expect(code, JSON.stringify(override)).toBe("manifest_invalid");
    }
    for (const license of ["MIT", "Apache-2.0", "MIT OR Apache-2.0", "GPL-2.0-or-later WITH Classpath-exception-2.0", "LicenseRef-llama3", "NOASSERTION"]) {
      expect(parseManifest(manifestOf({ license })).license).toBe(license);
    }
  });
});

describe("signManifest and verifyManifestSignature", () => {
  it("round-trips: the signature recovers to the creator", async () => {
    const signed = await signManifest(alice, manifestOf());
    expect(signed.signature).toMatch(/^0x[0-9a-f]{130}$/);
    expect(await verifyManifestSignature(signed, { creator: alice.address, chainId: 31337, modelRegistry: REGISTRY })).toBe(alice.address);
  });

  it("tampering with any field breaks the signature", async () => {
    const signed = await signManifest(alice, manifestOf());
    const tampered: Partial<ModelManifest>[] = [
      { name: "tiny-llama-pro" },
      { version: "1.0.1" },
      { format: "gguf" },
      { files: [files[0]!, { ...files[1]!, sha256: "c".repeat(64) }] },
      { files: [files[0]!, { ...files[1]!, size: 51 }] },
      { files: [files[0]!] },
      { architecture: "mistral" },
      { parameterCount: 1235 },
      { contextLength: 4096 },
      { license: "MIT" },
      { royaltyBps: 5000 },
      { chainId: 1 },
      { modelRegistry: OTHER_REGISTRY },
    ];
    for (const change of tampered) {
      const forged: SignedManifest = { manifest: manifestOf(change), signature: signed.signature };
      expect(await codeOf(verifyManifestSignature(forged)), JSON.stringify(change)).toBe("manifest_signature_mismatch");
    }
    const { contextLength: _dropped, ...withoutContext } = manifestOf();
    expect(await codeOf(verifyManifestSignature({ manifest: withoutContext as ModelManifest, signature: signed.signature }))).toBe("manifest_signature_mismatch");
  });

  it("refuses a valid signature from the wrong creator", async () => {
    // Mallory signs a manifest that names Alice as its creator.
    const claimsAlice = await signManifest(mallory, manifestOf());
    expect(await codeOf(verifyManifestSignature(claimsAlice))).toBe("manifest_signature_mismatch");
    // Mallory signs her own manifest for Alice's weights: valid, but not from the creator expected.
    const mallorys = await signManifest(mallory, manifestOf({ creator: mallory.address }));
    expect(await verifyManifestSignature(mallorys)).toBe(mallory.address);
    expect(await codeOf(verifyManifestSignature(mallorys, { creator: alice.address }))).toBe("manifest_wrong_creator");
    // Swapping the creator field to Mallory's address on Alice's signature does not help either.
    const alices = await signManifest(alice, manifestOf());
    expect(await codeOf(verifyManifestSignature({ manifest: manifestOf({ creator: mallory.address }), signature: alices.signature }))).toBe("manifest_signature_mismatch");
  });

  it("refuses an old manifest replayed under another name, version or deployment", async () => {
    const old = await signManifest(alice, manifestOf({ version: "1.0.0" }));
    for (const change of [{ name: "tiny-llama-v2" }, { version: "2.0.0" }, { chainId: 8453 }, { modelRegistry: OTHER_REGISTRY }]) {
      expect(await codeOf(verifyManifestSignature({ manifest: manifestOf(change), signature: old.signature }))).toBe("manifest_signature_mismatch");
    }
    // Unchanged, but presented to another deployment: refused by the expectations.
    expect(await codeOf(verifyManifestSignature(old, { chainId: 8453 }))).toBe("manifest_wrong_deployment");
    expect(await codeOf(verifyManifestSignature(old, { modelRegistry: OTHER_REGISTRY }))).toBe("manifest_wrong_deployment");
  });

  it("refuses garbage, truncated and malleated (high-s) signatures", async () => {
    const signed = await signManifest(alice, manifestOf());
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${signed.signature.slice(66, 130)}`);
    const v = parseInt(signed.signature.slice(130), 16);
    const twin = `${signed.signature.slice(0, 66)}${(n - s).toString(16).padStart(64, "0")}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
    for (const signature of [twin, "0x", "0x1234", `0x${"00".repeat(65)}`, `0x${"ff".repeat(65)}`, signed.signature.toUpperCase().replace("0X", "0x"), signed.signature.slice(0, -2)] as Hex[]) {
      expect(await codeOf(verifyManifestSignature({ manifest: signed.manifest, signature }))).toBe("manifest_signature_invalid");
    }
  });

  it("never signs a malformed manifest", async () => {
    expect(await codeOf(signManifest(alice, { ...manifestOf(), license: "not a licence!" }))).toBe("manifest_invalid");
  });
});

describe("storeManifest and loadManifest", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gotong-manifests-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("stores the canonical envelope under its own sha256 and loads it back", async () => {
    const signed = await signManifest(alice, manifestOf());
    const stored = await storeManifest(dir, signed);
    const bytes = await readFile(stored.path, "utf8");
    expect(bytes).toBe(canonicalJson({ manifest: signed.manifest, signature: signed.signature }));
    expect(stored.manifestHash).toBe(`0x${sha256Hex(bytes)}`);
    expect(stored.path).toBe(join(dir, `${stored.manifestHash.slice(2)}.json`));
    expect(stored.metadataURI).toBe(`gotong:manifest:${stored.manifestHash}`);
    expect(await loadManifest(dir, stored.manifestHash)).toEqual(signed);
    // Storing again is a no-op with the same address.
    expect((await storeManifest(dir, signed)).manifestHash).toBe(stored.manifestHash);
  });

  it("says clearly when a manifest is missing, altered, or not canonical", async () => {
    expect(await codeOf(loadManifest(dir, `0x${"1".repeat(64)}`))).toBe("manifest_not_found");
    expect(await codeOf(loadManifest(dir, "0x1234" as Hex))).toBe("manifest_invalid");
    const signed = await signManifest(alice, manifestOf());
    const stored = await storeManifest(dir, signed);
    await writeFile(stored.path, stored.bytes.replace('"tiny-llama"', '"tiny-llamb"'));
    expect(await codeOf(loadManifest(dir, stored.manifestHash))).toBe("manifest_corrupt");
    // Same content, pretty-printed and stored under its own (new) hash: refused as not canonical.
    const pretty = JSON.stringify(signed, null, 2);
    const prettyHash = sha256Hex(pretty);
    await writeFile(join(dir, `${prettyHash}.json`), pretty);
    expect(await codeOf(loadManifest(dir, `0x${prettyHash}`))).toBe("manifest_invalid");
    // An envelope with extra fields is refused too.
    const extra = canonicalJson({ ...signed, note: "hi" });
    await writeFile(join(dir, `${sha256Hex(extra)}.json`), extra);
    expect(await codeOf(loadManifest(dir, `0x${sha256Hex(extra)}`))).toBe("manifest_invalid");
  });
});
