import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gotongErrorOf, gotongRejectionOf } from "../../test/helpers/gotongErrorOf.ts";
import { computeWeightsHash } from "../model/computeWeightsHash.ts";
import { checkDatasetFiles } from "./checkDatasetFiles.ts";
import { datasetManifestTypedData } from "./datasetManifestTypedData.ts";
import { loadDatasetManifest, parseSignedDatasetManifest } from "./loadDatasetManifest.ts";
import { parseDatasetManifest } from "./parseDatasetManifest.ts";
import { prepareDatasetManifest } from "./prepareDatasetManifest.ts";
import { signDatasetManifest } from "./signDatasetManifest.ts";
import { storeDatasetManifest } from "./storeDatasetManifest.ts";
import { verifyDatasetManifestSignature } from "./verifyDatasetManifestSignature.ts";

const alice = privateKeyToAccount(generatePrivateKey());
const bob = privateKeyToAccount(generatePrivateKey());
const carol = privateKeyToAccount(generatePrivateKey());
const mallory = privateKeyToAccount(generatePrivateKey());
const REGISTRY = getAddress("0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0");
let dir: string;
let data: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gotong-dataset-"));
  data = join(dir, "corpus");
  await mkdir(join(data, "train"), { recursive: true });
  await writeFile(join(data, "train", "a.jsonl"), '{"text":"hello"}\n');
  await writeFile(join(data, "README.md"), "a small corpus\n");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const prepare = (extra: Partial<Parameters<typeof prepareDatasetManifest>[0]> = {}) =>
  prepareDatasetManifest({ path: data, license: "CC-BY-4.0", creator: alice.address, chainId: 31337, datasetRegistry: REGISTRY, ...extra });

describe("dataset manifest", () => {
  it("hashes the folder like a model's and lists owners sorted, shares adding up to 10000", async () => {
    const owners = [{ address: carol.address, shareBps: 2000 }, { address: alice.address, shareBps: 5000 }, { address: bob.address, shareBps: 3000 }];
    const manifest = await prepare({ owners });
    expect(manifest.files.map((f) => f.path)).toEqual(["README.md", "train/a.jsonl"]);
    expect(manifest.files[1]).toEqual({ path: "train/a.jsonl", sha256: createHash("sha256").update('{"text":"hello"}\n').digest("hex"), size: 17 });
    expect(manifest.contentHash).toBe(computeWeightsHash(manifest.files));
    expect(manifest.owners.map((o) => o.address.toLowerCase())).toEqual([alice, bob, carol].map((a) => a.address.toLowerCase()).sort());
    expect(manifest.owners.reduce((sum, o) => sum + o.shareBps, 0)).toBe(10_000);
    expect(manifest.name).toBe("corpus");
  });

  it("refuses owners whose shares do not add up to 100 %, or who are named twice", async () => {
    const short = await gotongRejectionOf(prepare({ owners: [{ address: alice.address, shareBps: 5000 }, { address: bob.address, shareBps: 4999 }] }));
    expect(short.code).toBe("dataset_manifest_invalid");
    expect(short.message).toContain("9999 bps, not 10000");
    const twice = await gotongRejectionOf(prepare({ owners: [{ address: alice.address, shareBps: 5000 }, { address: alice.address, shareBps: 5000 }] }));
    expect(twice.message).toContain("without duplicates");
  });

  it("refuses unknown fields, a content hash that does not match the files, and the model rules for name, licence, files", async () => {
    const manifest = await prepare();
    expect(gotongErrorOf(() => parseDatasetManifest({ ...manifest, extra: 1 })).message).toContain('"extra" is not a field');
    expect(gotongErrorOf(() => parseDatasetManifest({ ...manifest, contentHash: `0x${"0".repeat(64)}` })).message).toContain("its files hash to");
    const licence = gotongErrorOf(() => parseDatasetManifest({ ...manifest, license: "not a licence!" }));
    expect(licence.code).toBe("dataset_manifest_invalid");
    expect(licence.param).toBe("license");
    expect(gotongErrorOf(() => parseDatasetManifest({ ...manifest, files: [{ path: "../x", sha256: "a".repeat(64), size: 1 }] })).message).toContain('".."');
  });
});

describe("dataset manifest signatures: a forged manifest is refused", () => {
  it("verifies the creator's signature and binds it to the registrant", async () => {
    const signed = await signDatasetManifest(alice, await prepare());
    expect(await verifyDatasetManifestSignature(signed, { signer: alice.address, chainId: 31337, datasetRegistry: REGISTRY })).toBe(alice.address);
  });

  it("refuses a manifest naming alice but signed by mallory", async () => {
    const manifest = await prepare();
    const forged = { manifest, signature: await mallory.signTypedData(datasetManifestTypedData(manifest)) };
    const error = await gotongRejectionOf(verifyDatasetManifestSignature(forged));
    expect(error.code).toBe("dataset_manifest_mismatch");
    expect(error.message).toContain(`recovers to ${mallory.address}, not to the creator it names, ${alice.address}`);
  });

  it("refuses a manifest signed by someone other than the registered owner", async () => {
    const signed = await signDatasetManifest(mallory, await prepare({ creator: mallory.address }));
    const error = await gotongRejectionOf(verifyDatasetManifestSignature(signed, { signer: alice.address }));
    expect(error.code).toBe("dataset_manifest_mismatch");
    expect(error.message).toBe(`The dataset manifest is signed by ${mallory.address}, but the dataset is registered (or being registered) by ${alice.address}.`);
  });

  it("refuses a manifest altered after signing (owners' shares changed)", async () => {
    const owners = [{ address: alice.address, shareBps: 5000 }, { address: mallory.address, shareBps: 5000 }];
    const signed = await signDatasetManifest(alice, await prepare({ owners }));
    const altered = { ...signed, manifest: { ...signed.manifest, owners: signed.manifest.owners.map((o) => ({ ...o, shareBps: o.address === mallory.address ? 9000 : 1000 })) } };
    expect((await gotongRejectionOf(verifyDatasetManifestSignature(altered))).code).toBe("dataset_manifest_mismatch");
  });

  it("refuses a manifest for another deployment, and a high-s twin of the signature", async () => {
    const signed = await signDatasetManifest(alice, await prepare());
    expect((await gotongRejectionOf(verifyDatasetManifestSignature(signed, { chainId: 1 }))).message).toContain("chain 31337, not chain 1");
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${signed.signature.slice(66, 130)}`);
    const v = parseInt(signed.signature.slice(130), 16);
    const twin = `${signed.signature.slice(0, 66)}${(n - s).toString(16).padStart(64, "0")}${(v === 27 ? 28 : 27).toString(16)}` as `0x${string}`;
    expect((await gotongRejectionOf(verifyDatasetManifestSignature({ ...signed, signature: twin }))).message).toContain("canonical form");
  });

  it("stores it content-addressed and refuses a stored copy whose bytes were changed", async () => {
    const store = join(dir, "datasets");
    const stored = await storeDatasetManifest(store, await signDatasetManifest(alice, await prepare()));
    expect((await loadDatasetManifest(store, stored.manifestHash)).manifest.creator).toBe(alice.address);
    await writeFile(stored.path, (await readFile(stored.path, "utf8")).replace("CC-BY-4.0", "CC0-1.0"));
    const error = await gotongRejectionOf(loadDatasetManifest(store, stored.manifestHash));
    expect(error.code).toBe("dataset_manifest_mismatch");
    expect(error.message).toContain("was altered");
    expect(gotongErrorOf(() => parseSignedDatasetManifest("[1]")).code).toBe("dataset_manifest_invalid");
  });
});

describe("checkDatasetFiles", () => {
  it("passes the signed files and names the first file that differs, is missing or is extra", async () => {
    const manifest = await prepare();
    expect(await checkDatasetFiles(data, manifest)).toEqual(manifest.files);
    const copy = join(dir, "copy");
    await mkdir(join(copy, "train"), { recursive: true });
    await writeFile(join(copy, "README.md"), "a small corpus\n");
    await writeFile(join(copy, "train", "a.jsonl"), '{"text":"hellO"}\n');
    const changed = await gotongRejectionOf(checkDatasetFiles(copy, manifest));
    expect(changed.code).toBe("dataset_file_mismatch");
    expect(changed.message).toContain(`train/a.jsonl has sha256`);
    await writeFile(join(copy, "extra.txt"), "x");
    expect((await gotongRejectionOf(checkDatasetFiles(copy, manifest))).message).toBe(`extra.txt in ${copy} is not in the dataset's signed manifest.`);
    await rm(join(copy, "extra.txt"));
    await rm(join(copy, "README.md"));
    expect((await gotongRejectionOf(checkDatasetFiles(copy, manifest))).message).toBe(`README.md, listed in the dataset's signed manifest, is missing from ${copy}.`);
  });
});
