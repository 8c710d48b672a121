import { appendFile, cp, mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { getAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { ModelRegistryArtifact } from "../../src/chain/contracts.generated.ts";
import type { Deployment } from "../../src/chain/deployment.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { gotongRejectionOf } from "../helpers/gotongErrorOf.ts";
import { computeWeightsHash } from "../../src/model/computeWeightsHash.ts";
import { generateTestModel, TEST_MODEL_SHA256 } from "../../src/model/generateTestModel.ts";
import { hashModelFiles } from "../../src/model/hashModelFiles.ts";
import { listModelFiles } from "../../src/model/listModelFiles.ts";
import { loadManifest } from "../../src/model/loadManifest.ts";
import { MANIFEST_SCHEMA, type ModelManifest } from "../../src/model/modelManifest.ts";
import { publishModel, type PublishModelOptions } from "../../src/model/publishModel.ts";
import { signManifest } from "../../src/model/signManifest.ts";
import { storeManifest } from "../../src/model/storeManifest.ts";
import { verifyModel, type ModelCheck, type VerifyModelOptions } from "../../src/model/verifyModel.ts";
import { PICKLE } from "../fixtures/model/pickle.ts";
import { writeSafetensorsModel } from "../fixtures/model/writeSafetensorsModel.ts";
import { runGotong } from "../helpers/cli.ts";
import { startTestNetwork, type TestNetwork } from "../helpers/network.ts";

describe("publishing and verifying models on a real chain", () => {
  let net: TestNetwork;
  let deployment: Deployment;
  let manifestsDir: string;
  let work: string;
  let mallory: ChainClients;
  let gguf: { path: string; modelId: bigint };
  let shards: { dir: string; modelId: bigint; manifestHash: Hex };
  let seeds = 100;

  const publish = (path: string, options: Partial<PublishModelOptions> = {}, clients = net.creator) =>
    publishModel(clients, deployment, { path, royaltyBps: 1000, license: "Apache-2.0", manifestsDir, ...options });
  const verify = (options: Omit<VerifyModelOptions, "manifestsDir"> & { manifestsDir?: string }, checks?: ModelCheck[]) =>
    verifyModel(net.creator.public, deployment, { manifestsDir, onCheck: (c) => checks?.push(c), ...options });
  const modelCount = () => net.creator.public.readContract({ address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "modelCount" });
  const manifestCount = async () => (await readdir(manifestsDir).catch(() => [])).length;

  /** A fresh shard folder whose weights nobody has registered yet. */
  async function freshShards(name: string): Promise<string> {
    const dir = join(work, name);
    await writeSafetensorsModel(dir, { seed: seeds++ });
    return dir;
  }

  /** Runs `publish` on a bad input and checks the error and that nothing reached the chain or the manifest store. */
  async function refusedPublish(path: string, code: string, message: RegExp, options: Partial<PublishModelOptions> = {}) {
    const [models, manifests] = [await modelCount(), await manifestCount()];
    const error = await gotongRejectionOf(publish(path, options));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(await modelCount()).toBe(models);
    expect(await manifestCount()).toBe(manifests);
    return error;
  }

  /** A manifest for the files at `path`, as publishModel would build it, with overrides. */
  async function manifestFor(path: string, overrides: Partial<ModelManifest> = {}): Promise<ModelManifest> {
    const files = await hashModelFiles((await listModelFiles(path)).files);
    return {
      schema: MANIFEST_SCHEMA,
      name: "hand-made",
      version: "1.0.0",
      format: "safetensors",
      files,
      weightsHash: computeWeightsHash(files),
      architecture: "llama",
      license: "MIT",
      royaltyBps: 500,
      creator: getAddress(net.creator.account.address),
      chainId: deployment.chainId,
      modelRegistry: getAddress(deployment.modelRegistry),
      ...overrides,
    };
  }

  /** Registers a signed manifest directly, the way a hostile or buggy client could. */
  async function registerRaw(clients: ChainClients, manifest: ModelManifest, signature: Hex): Promise<bigint> {
    const stored = await storeManifest(manifestsDir, { manifest, signature });
    const { result } = await writeAndWait(clients, {
      address: deployment.modelRegistry,
      abi: ModelRegistryArtifact.abi,
      functionName: "register",
      args: [manifest.name, manifest.weightsHash, stored.manifestHash, stored.metadataURI, manifest.royaltyBps],
    });
    return result as bigint;
  }

  beforeAll(async () => {
    net = await startTestNetwork();
    deployment = net.devnet.deployment;
    manifestsDir = net.home.manifests;
    work = join(net.home.root, "work");
    await mkdir(work, { recursive: true });
    const key = generatePrivateKey();
    await fundOnDevnet(deployment, privateKeyToAccount(key).address, {});
    mallory = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(key) });
  });
  afterAll(async () => {
    await net?.stop();
  });

  describe("a GGUF file", () => {
    it("is published with a signed, content-addressed manifest and registered", async () => {
      const { path } = await generateTestModel(join(work, "tiny.gguf"));
      const progress: number[] = [];
      const result = await publish(path, { name: "tiny", version: "0.1.0", onProgress: (done) => progress.push(done) });
      expect(result.created).toBe(true);
      expect(result.weightsHash).toBe(`0x${TEST_MODEL_SHA256}`);
      expect(progress.at(-1)).toBe((await readFile(path)).length);
      expect(result.manifest).toMatchObject({ schema: MANIFEST_SCHEMA, name: "tiny", version: "0.1.0", format: "gguf", architecture: "llama", license: "Apache-2.0", chainId: deployment.chainId });
      expect(result.manifest!.files).toEqual([{ path: "tiny.gguf", sha256: TEST_MODEL_SHA256, size: (await readFile(path)).length }]);

      const entry = await net.creator.public.readContract({ address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "getModel", args: [result.modelId] });
      expect(entry).toMatchObject({ name: "tiny", weightsHash: result.weightsHash, manifestHash: result.manifestHash, metadataURI: `gotong:manifest:${result.manifestHash}`, royaltyBps: 1000 });
      expect((await loadManifest(manifestsDir, result.manifestHash)).signature).toBe(result.signature);
      gguf = { path, modelId: result.modelId };
    });

    it("verifies by path and by id", async () => {
      const checks: ModelCheck[] = [];
      const byPath = await verify({ path: gguf.path }, checks);
      expect(byPath.modelId).toBe(gguf.modelId);
      expect(checks.map((c) => [c.name, c.ok])).toEqual([["registry", true], ["manifest", true], ["signature", true], ["deployment", true], ["registry entry", true], ["file tiny.gguf", true], ["fingerprint", true]]);
      const byId = await verify({ modelId: gguf.modelId });
      expect(byId.signer).toBe(getAddress(net.creator.account.address));
    });

    it("returns the existing entry when the same creator publishes the same weights again", async () => {
      const [models, manifests] = [await modelCount(), await manifestCount()];
      const again = await publish(gguf.path, { name: "another-name" });
      expect(again).toMatchObject({ created: false, modelId: gguf.modelId, name: "tiny" });
      expect(await modelCount()).toBe(models);
      expect(await manifestCount()).toBe(manifests);
    });

    it("refuses the same weights from another creator with the registry's ModelAlreadyRegistered", async () => {
      const [models, manifests] = [await modelCount(), await manifestCount()];
      const error = await gotongRejectionOf(publish(gguf.path, { name: "stolen" }, mallory));
      expect(error.code).toBe("model_already_registered");
      expect(error.message).toMatch(new RegExp(`ModelAlreadyRegistered\\(weightsHash=0x${TEST_MODEL_SHA256}, modelId=${gguf.modelId}\\)`));
      expect(await modelCount()).toBe(models);
      expect(await manifestCount()).toBe(manifests);
    });

    it("catches a flipped byte in a copy of the file, found by its name", async () => {
      const copy = join(work, "copy", "tiny.gguf");
      await mkdir(join(work, "copy"));
      const bytes = await readFile(gguf.path);
      bytes[bytes.length - 1]! ^= 0x01;
      await writeFile(copy, bytes);
      const error = await gotongRejectionOf(verify({ path: copy }));
      expect(error.code).toBe("model_file_hash_mismatch");
      expect(error.message).toContain(TEST_MODEL_SHA256);
    });

    it("refuses a pickle renamed to .gguf", async () => {
      const path = join(work, "evil.gguf");
      await writeFile(path, PICKLE);
      await refusedPublish(path, "model_format_pickle", /pickle.*arbitrary code/i);
    });
  });

  describe("a folder of safetensors shards", () => {
    it("is published with every file in the manifest and verified", async () => {
      const dir = await freshShards("shards");
      const result = await publish(dir, { name: "tiny-shards", version: "2.0.0-rc.1", license: "MIT OR Apache-2.0", royaltyBps: 250 });
      const m = result.manifest!;
      expect(m.files.map((f) => f.path)).toEqual(["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"]);
      expect(m).toMatchObject({ format: "safetensors", architecture: "llama", contextLength: 128, royaltyBps: 250, license: "MIT OR Apache-2.0" });
      expect(result.weightsHash).toBe(computeWeightsHash(m.files));
      shards = { dir, modelId: result.modelId, manifestHash: result.manifestHash };

      const checks: ModelCheck[] = [];
      await verify({ path: dir }, checks);
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      expect(checks.filter((c) => c.name.startsWith("file "))).toHaveLength(4);
      await verify({ modelId: result.modelId, path: dir });
    });

    describe("bad inputs are refused at publishing, and nothing is registered", () => {
      it("a manifest signature that is not the creator's", async () => {
        const dir = await freshShards("wrong-signer");
        await refusedPublish(dir, "manifest_signature_mismatch", /recovers to/, { signer: privateKeyToAccount(generatePrivateKey()) });
      });
      it("a shard whose bytes were changed", async () => {
        const dir = await freshShards("changed");
        await appendFile(join(dir, "model-00002-of-00002.safetensors"), Buffer.from("x"));
        await refusedPublish(dir, "safetensors_invalid", /after its last tensor/);
      });
      it("a shard missing", async () => {
        const dir = await freshShards("missing");
        await rm(join(dir, "model-00001-of-00002.safetensors"));
        await refusedPublish(dir, "model_shard_missing", /model-00001-of-00002\.safetensors is missing/);
      });
      it("an extra file", async () => {
        const dir = await freshShards("extra");
        await writeFile(join(dir, "notes.txt"), "remember to rotate the keys\n");
        await refusedPublish(dir, "model_folder_unknown_file", /notes\.txt/);
      });
      it("a symlink out of the folder", async () => {
        const dir = await freshShards("symlink");
        await writeFile(join(work, "secret.json"), "{}");
        await symlink(join(work, "secret.json"), join(dir, "tokenizer.json"));
        await refusedPublish(dir, "model_symlink_escapes", /tokenizer\.json.*leaves the folder/);
      });
      it("a pickle .bin in the folder", async () => {
        const dir = await freshShards("pickle");
        await writeFile(join(dir, "pytorch_model.bin"), PICKLE);
        await refusedPublish(dir, "model_format_pickle", /pytorch_model\.bin.*pickle/i);
      });
      it("a licence, version or royalty that is not valid, before any hashing", async () => {
        const dir = await freshShards("bad-terms");
        await refusedPublish(dir, "manifest_invalid", /license/, { license: "do what you want" });
        await refusedPublish(dir, "manifest_invalid", /version/, { version: "latest" });
        await refusedPublish(dir, "contract_revert", /RoyaltyTooHigh\(royaltyBps=6000, maximum=5000\)/, { royaltyBps: 6000 });
      });
    });

    describe("bad files or manifests are caught at verification", () => {
      /** A copy of the published folder to damage. */
      async function copy(name: string): Promise<string> {
        const dir = join(work, name);
        await cp(shards.dir, dir, { recursive: true });
        return dir;
      }

      it("a shard's bytes changed: names the file and both hashes", async () => {
        const dir = await copy("v-changed");
        const shard = join(dir, "model-00002-of-00002.safetensors");
        const bytes = await readFile(shard);
        const expected = (await loadManifest(manifestsDir, shards.manifestHash)).manifest.files.find((f) => f.path === "model-00002-of-00002.safetensors")!.sha256;
        bytes[bytes.length - 1]! ^= 0x01;
        await writeFile(shard, bytes);
        for (const options of [{ path: dir }, { modelId: shards.modelId, path: dir }]) {
          const checks: ModelCheck[] = [];
          const error = await gotongRejectionOf(verify(options, checks));
          expect(error.code).toBe("model_file_hash_mismatch");
          expect(error.message).toContain("model-00002-of-00002.safetensors");
          expect(error.message).toContain(expected);
          expect(error.message).toMatch(/has sha256 [0-9a-f]{64}/);
          expect(checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(["file model-00002-of-00002.safetensors"]);
          // Everything else still checked out, and said so.
          expect(checks.find((c) => c.name === "signature")?.ok).toBe(true);
        }
      });
      it("a shard missing", async () => {
        const dir = await copy("v-missing");
        await rm(join(dir, "model-00001-of-00002.safetensors"));
        const error = await gotongRejectionOf(verify({ path: dir }));
        expect(error.code).toBe("model_file_missing");
        expect(error.message).toMatch(/model-00001-of-00002\.safetensors is missing/);
      });
      it("an extra unsigned file, including a pickle .bin, which is never opened", async () => {
        const dir = await copy("v-extra");
        await writeFile(join(dir, "pytorch_model.bin"), PICKLE);
        const error = await gotongRejectionOf(verify({ modelId: shards.modelId, path: dir }));
        expect(error.code).toBe("model_file_unsigned");
        expect(error.message).toMatch(/pytorch_model\.bin is in .* but not in the signed manifest/);
        expect((await gotongRejectionOf(verify({ path: dir }))).code).toBe("model_file_unsigned");
      });
      it("a symlink out of the folder", async () => {
        const dir = await copy("v-symlink");
        await rm(join(dir, "config.json"));
        await writeFile(join(work, "other-config.json"), "{}");
        await symlink(join(work, "other-config.json"), join(dir, "config.json"));
        expect((await gotongRejectionOf(verify({ path: dir }))).code).toBe("model_symlink_escapes");
        expect((await gotongRejectionOf(verify({ modelId: shards.modelId, path: dir }))).code).toBe("model_symlink_escapes");
      });
      it("a manifest that is not found, or was altered", async () => {
        const empty = join(work, "no-manifests");
        await mkdir(empty);
        const missing = await gotongRejectionOf(verify({ modelId: shards.modelId, manifestsDir: empty }));
        expect(missing.code).toBe("manifest_not_found");
        expect(missing.message).toContain(shards.manifestHash.slice(2));

        const altered = join(work, "altered-manifests");
        await mkdir(altered);
        const text = await readFile(join(manifestsDir, `${shards.manifestHash.slice(2)}.json`), "utf8");
        await writeFile(join(altered, `${shards.manifestHash.slice(2)}.json`), text.replace('"royaltyBps":250', '"royaltyBps":0'));
        expect((await gotongRejectionOf(verify({ modelId: shards.modelId, manifestsDir: altered }))).code).toBe("manifest_corrupt");
      });
      it("a registered manifest whose signature is not its creator's", async () => {
        const dir = await freshShards("v-bad-signature");
        const manifest = await manifestFor(dir);
        // Signed by someone else while naming the sender as creator: registrable, never verifiable.
        const { signature } = await signManifest(privateKeyToAccount(generatePrivateKey()), manifest);
        const modelId = await registerRaw(net.creator, manifest, signature);
        const checks: ModelCheck[] = [];
        const error = await gotongRejectionOf(verify({ modelId, path: dir }, checks));
        expect(error.code).toBe("manifest_signature_mismatch");
        expect(checks.find((c) => c.name === "signature")?.ok).toBe(false);
        expect(checks.filter((c) => c.name.startsWith("file ")).every((c) => c.ok)).toBe(true);
      });
      it("another creator's signed manifest registered by someone else (front-running)", async () => {
        const dir = await freshShards("v-front-run");
        const alices = await signManifest(privateKeyToAccount(net.creatorKey), await manifestFor(dir));
        const modelId = await registerRaw(mallory, alices.manifest, alices.signature);
        const error = await gotongRejectionOf(verify({ modelId }));
        expect(error.code).toBe("manifest_registry_mismatch");
        expect(error.message).toMatch(/registered by .* but the manifest is signed by/);
        // And Alice, publishing her own weights, is told plainly that they were taken.
        expect((await gotongRejectionOf(publish(dir))).code).toBe("model_already_registered");
      });
      it("a manifest signed for another deployment, replayed here", async () => {
        const dir = await freshShards("v-replay");
        const other = await signManifest(privateKeyToAccount(net.creatorKey), await manifestFor(dir, { chainId: 8453 }));
        const modelId = await registerRaw(net.creator, other.manifest, other.signature);
        const checks: ModelCheck[] = [];
        const error = await gotongRejectionOf(verify({ modelId }, checks));
        expect(error.code).toBe("manifest_wrong_deployment");
        expect(checks.find((c) => c.name === "signature")?.ok).toBe(true);
      });
      it("a model id that does not exist, and files nobody published", async () => {
        expect((await gotongRejectionOf(verify({ modelId: 999n }))).code).toBe("model_not_found");
        const dir = join(work, "v-unknown");
        await writeSafetensorsModel(dir, { seed: seeds++, index: false, config: false });
        expect((await gotongRejectionOf(verify({ path: dir }))).code).toBe("model_not_registered");
      });
    });
  });

  describe("the CLI", () => {
    let keyFile: string;
    beforeAll(async () => {
      keyFile = join(work, "creator.key");
      await writeFile(keyFile, net.creatorKey + "\n", { mode: 0o600 });
    });

    it("publishes a folder and verifies it by path and by id, then fails on a changed shard", async () => {
      const dir = await freshShards("cli-shards");
      const home = ["--home", net.home.root];
      const published = await runGotong(["model", "publish", dir, "--name", "cli-model", "--version", "1.2.0", "--license", "MIT", "--royalty-bps", "500", "--key", keyFile, "--json", ...home]);
      expect(published.stderr).not.toMatch(/error/);
      expect(published.code).toBe(0);
      const out = JSON.parse(published.stdout) as { modelId: string; weightsHash: string; manifestHash: string; created: boolean; version: string };
      expect(out).toMatchObject({ created: true, version: "1.2.0" });
      expect(out.manifestHash).toMatch(/^0x[0-9a-f]{64}$/);

      const text = await runGotong(["model", "verify", dir, ...home]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/✓ signature/);
      expect(text.stdout).toMatch(/✓ file model-00001-of-00002\.safetensors/);
      expect(text.stdout).not.toContain("✗");

      const byId = await runGotong(["model", "verify", out.modelId, "--path", dir, "--json", ...home]);
      expect(byId.code).toBe(0);
      expect(JSON.parse(byId.stdout)).toMatchObject({ ok: true, modelId: out.modelId, manifestHash: out.manifestHash });

      const shard = join(dir, "model-00001-of-00002.safetensors");
      const bytes = await readFile(shard);
      bytes[bytes.length - 1]! ^= 0x80;
      await writeFile(shard, bytes);
      const bad = await runGotong(["model", "verify", out.modelId, "--path", dir, ...home]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/✗ file model-00001-of-00002\.safetensors/);
      expect(bad.stdout).toMatch(/✓ signature/);
      expect(bad.stderr).toMatch(/error: model-00001-of-00002\.safetensors has sha256 [0-9a-f]{64} .* the signed manifest says [0-9a-f]{64}/);
    });

    it("prints a publish summary, refuses a pickle with the danger named, and inspects safetensors", async () => {
      const dir = await freshShards("cli-text");
      const home = ["--home", net.home.root];
      const published = await runGotong(["model", "publish", dir, "--key", keyFile, ...home]);
      expect(published.code).toBe(0);
      expect(published.stdout).toMatch(/published: "cli-text" 1\.0\.0 as model #\d+/);
      expect(published.stdout).toMatch(/weights +0x[0-9a-f]{64}/);
      expect(published.stdout).toMatch(/manifest +0x[0-9a-f]{64}/);

      await writeFile(join(dir, "pytorch_model.bin"), PICKLE);
      const refused = await runGotong(["model", "publish", dir, "--key", keyFile, ...home]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/pickle.*arbitrary code/i);

      const inspected = await runGotong(["model", "inspect", join(dir, "model-00001-of-00002.safetensors"), "--json"]);
      expect(inspected.code).toBe(0);
      expect(JSON.parse(inspected.stdout)).toMatchObject({ format: "safetensors", tensors: 3, tensorTypes: { F16: 1, F32: 1, BF16: 1 }, metadata: { format: "pt" } });
    });
  });
});
