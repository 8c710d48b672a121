import { randomBytes } from "node:crypto";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytesToHex, getAddress, type Address, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gotongRejectionOf, gotongErrorOf } from "../../test/helpers/gotongErrorOf.ts";
import type { Deployment } from "../chain/deployment.ts";
import { deriveKeyPair } from "../privacy/hpke.ts";
import { checkDatasetFiles } from "./checkDatasetFiles.ts";
import { createDatasetKey, loadDatasetKey } from "./datasetKey.ts";
import { grantDatasetAccess } from "./grantDatasetAccess.ts";
import { openDatasetGrant } from "./openDatasetGrant.ts";
import { prepareDatasetManifest } from "./prepareDatasetManifest.ts";
import { openDatasetFile, sealDatasetFile } from "./sealDatasetFile.ts";
import { sealDatasetFolder } from "./sealDatasetFolder.ts";

const owner = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
const REGISTRY = getAddress("0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0");
const deployment = { chainId: 31337, datasetRegistry: REGISTRY } as unknown as Deployment;
const trainer = deriveKeyPair(randomBytes(32));
const trainerKey = bytesToHex(trainer.publicKey);
const datasetKey = randomBytes(32);

/** A chain whose DatasetRegistry says `owners[id]` owns dataset `id`, and reverts for any other id, as ERC-721's ownerOf does. */
function chainWith(owners: Record<string, Address>): PublicClient {
  return {
    readContract: async ({ address, functionName, args }: { address: Address; functionName: string; args: [bigint] }) => {
      expect(address).toBe(REGISTRY);
      expect(functionName).toBe("ownerOf");
      const found = owners[args[0].toString()];
      if (found === undefined) throw Object.assign(new Error(`execution reverted: ERC721NonexistentToken(${args[0]})`), { name: "ContractFunctionExecutionError" });
      return found;
    },
  } as unknown as PublicClient;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gotong-grant-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("grantDatasetAccess", () => {
  it("seals the dataset key to the trainer, who alone opens it, after checking the granter owns the dataset on-chain", async () => {
    const client = chainWith({ "7": owner.address });
    const grant = await grantDatasetAccess(client, deployment, owner, { datasetId: 7n, recipientPublicKey: trainerKey, datasetKey });
    expect(grant).toMatchObject({ schema: "gotong.dataset-grant/1", datasetId: "7", chainId: 31337, datasetRegistry: REGISTRY, granter: owner.address, recipientPublicKey: trainerKey });
    expect(JSON.stringify(grant)).not.toContain(datasetKey.toString("hex"));
    const opened = await openDatasetGrant(JSON.parse(JSON.stringify(grant)), trainer.privateKeyBytes, { chain: { client, deployment } });
    expect(Buffer.from(opened.datasetKey).equals(datasetKey)).toBe(true);
    // Another trainer's key cannot open it.
    const other = deriveKeyPair(randomBytes(32));
    expect((await gotongRejectionOf(openDatasetGrant(grant, other.privateKeyBytes))).message).toContain("is sealed to");
  });

  it("refuses a granter whose wallet does not own the dataset, naming the owner", async () => {
    const error = await gotongRejectionOf(grantDatasetAccess(chainWith({ "7": owner.address }), deployment, stranger, { datasetId: 7n, recipientPublicKey: trainerKey, datasetKey }));
    expect(error.code).toBe("dataset_not_owner");
    expect(error.message).toBe(`${stranger.address} does not own dataset #7: its token is owned by ${owner.address}, so this wallet cannot grant access to it.`);
  });

  it("refuses a dataset that does not exist", async () => {
    const error = await gotongRejectionOf(grantDatasetAccess(chainWith({}), deployment, owner, { datasetId: 8n, recipientPublicKey: trainerKey, datasetKey }));
    expect(error.code).toBe("dataset_not_found");
    expect(error.message).toContain("No dataset #8");
  });

  it("refuses a target key that is not a valid X25519 public key: malformed, or a low-order point", async () => {
    const client = chainWith({ "7": owner.address });
    const malformed = await gotongRejectionOf(grantDatasetAccess(client, deployment, owner, { datasetId: 7n, recipientPublicKey: "0x1234", datasetKey }));
    expect(malformed.code).toBe("dataset_grant_invalid");
    expect(malformed.message).toContain("expected 0x and 64 hex digits");
    // 0 and 1 are points of small order: the shared secret would be all zeros, known to everyone.
    for (const low of [`0x${"00".repeat(32)}`, `0x01${"00".repeat(31)}`]) {
      const error = await gotongRejectionOf(grantDatasetAccess(client, deployment, owner, { datasetId: 7n, recipientPublicKey: low, datasetKey }));
      expect(error.code).toBe("dataset_grant_invalid");
      expect(error.message).toContain("is not a valid X25519 public key");
    }
  });

  it("refuses an altered grant, a grant signed by someone else, and one whose granter no longer owns the dataset", async () => {
    const client = chainWith({ "7": owner.address });
    const grant = await grantDatasetAccess(client, deployment, owner, { datasetId: 7n, recipientPublicKey: trainerKey, datasetKey });
    const retargeted = { ...grant, datasetId: "8" };
    expect((await gotongRejectionOf(openDatasetGrant(retargeted, trainer.privateKeyBytes))).message).toContain("not by the granter it names");
    const claimed = { ...grant, granter: stranger.address };
    expect((await gotongRejectionOf(openDatasetGrant(claimed, trainer.privateKeyBytes))).code).toBe("dataset_grant_invalid");
    const sold = await gotongRejectionOf(openDatasetGrant(grant, trainer.privateKeyBytes, { chain: { client: chainWith({ "7": stranger.address }), deployment } }));
    expect(sold.code).toBe("dataset_not_owner");
    expect((await gotongRejectionOf(openDatasetGrant({ ...grant, extra: 1 }, trainer.privateKeyBytes))).message).toContain("exactly");
  });
});

describe("sealed datasets", () => {
  it("seals a folder with the dataset key so that the manifest signs the ciphertext and the key opens it", async () => {
    const plain = join(dir, "plain");
    await mkdir(plain, { recursive: true });
    await writeFile(join(plain, "a.txt"), "secret rows\n");
    const sealed = join(dir, "sealed");
    await sealDatasetFolder(plain, sealed, datasetKey);
    const bytes = await readFile(join(sealed, "a.txt"));
    expect(bytes.includes(Buffer.from("secret"))).toBe(false);
    expect(Buffer.from(openDatasetFile(datasetKey, "a.txt", bytes)).toString()).toBe("secret rows\n");
    const manifest = await prepareDatasetManifest({ path: sealed, sealed: true, creator: owner.address, chainId: 31337, datasetRegistry: REGISTRY });
    expect(manifest.sealed).toBe(true);
    expect(await checkDatasetFiles(sealed, manifest)).toHaveLength(1);
    // Sealed under another path, or opened with another key: refused alike.
    expect(gotongErrorOf(() => openDatasetFile(datasetKey, "b.txt", bytes)).code).toBe("dataset_file_mismatch");
    expect(gotongErrorOf(() => openDatasetFile(randomBytes(32), "a.txt", sealDatasetFile(datasetKey, "a.txt", Buffer.from("x")))).code).toBe("dataset_file_mismatch");
    expect((await gotongRejectionOf(sealDatasetFolder(plain, sealed, datasetKey))).message).toContain("is not empty");
  });

  it("keeps one key per dataset, refusing to replace it", async () => {
    const hash = `0x${"ab".repeat(32)}` as const;
    const key = await createDatasetKey(dir, hash);
    expect(Buffer.from(await loadDatasetKey(dir, hash)).equals(Buffer.from(key))).toBe(true);
    expect((await gotongRejectionOf(createDatasetKey(dir, hash))).message).toContain("already holds another key");
    expect((await gotongRejectionOf(loadDatasetKey(dir, `0x${"cd".repeat(32)}`))).code).toBe("dataset_key_missing");
  });
});
