import { copyFile, mkdir, open, readdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseAbi, parseEventLogs, zeroHash, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { ModelRegistryArtifact } from "../../src/chain/contracts.generated.ts";
import type { Deployment } from "../../src/chain/deployment.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { generateTestModel } from "../../src/model/generateTestModel.ts";
import { hashModelFingerprint } from "../../src/model/hashModelFingerprint.ts";
import { readGgufHeader } from "../../src/model/readGgufHeader.ts";
import { readModelFingerprint } from "../../src/model/readModelFingerprint.ts";
import { readRegisteredFingerprints } from "../../src/model/readRegisteredFingerprints.ts";
import { storeManifest } from "../../src/model/storeManifest.ts";
import { loadManifest } from "../../src/model/loadManifest.ts";
import { quantizeGguf } from "../../src/verification/quantizeGguf.ts";
import { runGotong } from "../helpers/cli.ts";
import { gotongRejectionOf } from "../helpers/gotongErrorOf.ts";
import { startTestNetwork, type TestNetwork } from "../helpers/network.ts";
import { tempHome } from "../helpers/tempHome.ts";

/**
 * The re-upload check across machines, with the shipped CLI on one devnet: the creator publishes a
 * GGUF from one GOTONG_HOME (which keeps its manifest); a second, empty GOTONG_HOME (another
 * machine: the deployment file and nothing else) holds a Q8_0 requantisation and a re-upload with
 * one weight nudged. Each is refused from the second home exactly as from the first, and
 * published once it names its parent. The fingerprint reaches the chain only with the model it
 * belongs to: a stranger can neither attach one to the original nor take its place.
 */
describe("a re-upload or quantisation of a registered model is caught from a machine without its manifest", () => {
  let net: TestNetwork;
  let deployment: Deployment;
  let other: ReturnType<typeof tempHome>;
  let original: { path: string; modelId: bigint; fingerprintHash: Hex };
  let quantised: string;
  let reupload: string;
  const copierKey = generatePrivateKey();
  const strangerKey = generatePrivateKey();
  const keyFile: { creator: string; copier: string } = { creator: "", copier: "" };
  const clientsOf = (key: Hex): ChainClients => createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(key) });
  const registry = () => ({ address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi }) as const;
  const modelCount = () => net.creator.public.readContract({ ...registry(), functionName: "modelCount" });

  /** `gotong model publish PATH ARGS… --home HOME`, as the copier unless a key is given. */
  const publish = (home: string, path: string, ...args: string[]) => runGotong(["model", "publish", path, "--royalty-bps", "500", ...(args.includes("--key") ? [] : ["--key", keyFile.copier]), ...args, "--home", home]);
  const refused = async (home: string, path: string, ...args: string[]) => {
    const before = await modelCount();
    const result = await publish(home, path, ...args);
    expect(result.code, result.stdout).toBe(1);
    expect(await modelCount()).toBe(before);
    return result.stderr;
  };

  beforeAll(async () => {
    net = await startTestNetwork();
    deployment = net.devnet.deployment;
    // The other machine: the deployment file, its own key, no manifests.
    other = tempHome();
    await mkdir(dirname(other.deployment), { recursive: true });
    await copyFile(net.home.deployment, other.deployment);
    await mkdir(other.models, { recursive: true });
    await fundOnDevnet(deployment, privateKeyToAccount(copierKey).address, {});
    await fundOnDevnet(deployment, privateKeyToAccount(strangerKey).address, {});
    keyFile.creator = join(net.home.root, "creator.key");
    await writeFile(keyFile.creator, net.creatorKey + "\n", { mode: 0o600 });
    keyFile.copier = join(other.root, "copier.key");
    await writeFile(keyFile.copier, copierKey + "\n", { mode: 0o600 });

    const { path } = await generateTestModel(join(net.home.models, "tiny.gguf"));
    quantised = join(other.models, "tiny-q8_0.gguf");
    await quantizeGguf(path, quantised, "Q8_0");
    // A re-upload: the same file with one weight's lowest mantissa bit flipped (other bytes, other
    // weights hash, the same model for every purpose).
    reupload = join(other.models, "tiny-reupload.gguf");
    await copyFile(path, reupload);
    const header = await readGgufHeader(reupload);
    const f32 = header.tensors.find((t) => t.typeName === "F32" && t.elementCount > 1n)!;
    const handle = await open(reupload, "r+");
    const at = Number(header.dataOffset + f32.offset);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0]! ^= 1;
    await handle.write(byte, 0, 1, at);
    await handle.close();
    original = { path, modelId: 0n, fingerprintHash: zeroHash };
  }, 120_000);
  afterAll(async () => {
    await net?.stop();
    other?.cleanup();
  });

  it("publishes the original with its fingerprint hash on-chain, emitted by the registering transaction", async () => {
    const result = await publish(net.home.root, original.path, "--name", "tiny", "--key", keyFile.creator, "--json");
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as { modelId: string; fingerprintHash: Hex; transactionHash: Hex };
    const fingerprint = (await readModelFingerprint([original.path]))!;
    expect(out.fingerprintHash).toBe(hashModelFingerprint(fingerprint));
    const receipt = await net.creator.public.getTransactionReceipt({ hash: out.transactionHash });
    const logs = parseEventLogs({ abi: ModelRegistryArtifact.abi, eventName: "ModelFingerprinted", logs: receipt.logs });
    expect(logs.map((l) => l.args)).toEqual([{ modelId: BigInt(out.modelId), fingerprint: out.fingerprintHash }]);
    original = { path: original.path, modelId: BigInt(out.modelId), fingerprintHash: out.fingerprintHash };

    // Its quantisation and re-upload have other bytes but the same fingerprint.
    expect(hashModelFingerprint((await readModelFingerprint([quantised]))!)).toBe(original.fingerprintHash);
    expect(hashModelFingerprint((await readModelFingerprint([reupload]))!)).toBe(original.fingerprintHash);
  });

  it("refuses the quantisation and the re-upload from an empty GOTONG_HOME exactly as from the original's", async () => {
    expect(await readdir(other.manifests).catch(() => [])).toEqual([]);
    for (const path of [quantised, reupload]) {
      const sameMachine = await refused(net.home.root, path);
      const otherMachine = await refused(other.root, path);
      expect(sameMachine).toMatch(new RegExp(`looks like a re-upload, quantisation or fine-tune of model #${original.modelId} "tiny" \\(the same architecture \\(llama\\), the same \\d+ tensor names and shapes, the same \\d+-token vocabulary\\), but names no parent`));
      expect(sameMachine).toContain(`hint: Declare it: add --parent ${original.modelId} --relation quantisation`);
      expect(otherMachine).toBe(sameMachine);
    }
    // Nothing was stored on the other machine either.
    expect(await readdir(other.manifests).catch(() => [])).toEqual([]);
  });

  it("reads the candidates from the chain alone, with the hash, when no manifest is kept", async () => {
    const candidates = await readRegisteredFingerprints(net.creator.public, deployment, other.manifests);
    expect(candidates).toEqual([{ modelId: original.modelId, name: "tiny", fingerprint: undefined, fingerprintHash: original.fingerprintHash }]);
    const local = await readRegisteredFingerprints(net.creator.public, deployment, net.home.manifests);
    expect(local[0]).toMatchObject({ modelId: original.modelId, fingerprintHash: original.fingerprintHash, fingerprint: { architecture: "llama" } });
  });

  it("publishes the quantisation from the empty home once it names its parent, with the same fingerprint", async () => {
    const result = await publish(other.root, quantised, "--name", "tiny-q8_0", "--parent", `${original.modelId}`, "--relation", "quantisation");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/published: "tiny-q8_0" 1\.0\.0 as model #\d+/);
    expect(result.stdout).toContain(`fingerprint ${original.fingerprintHash} (registered with the model)`);
    expect(result.stdout).toContain(`parent    model #${original.modelId} (quantisation)`);
    // And a copy of that quantisation, published from the first home, is still sent to the original.
    const again = await refused(net.home.root, reupload);
    expect(again).toContain(`of model #${original.modelId} "tiny"`);
  });

  it("lets no stranger attach a fingerprint to someone else's model, nor take the original's place", async () => {
    const stranger = clientsOf(strangerKey);
    // No call takes an existing model's id and a fingerprint: the registry has no such function.
    const declare = await gotongRejectionOf(
      writeAndWait(stranger, { address: deployment.modelRegistry, abi: parseAbi(["function declareFingerprint(uint256 modelId, bytes32 fingerprint)"]), functionName: "declareFingerprint", args: [original.modelId, `0x${"ab".repeat(32)}`] }),
    );
    expect(declare.message).toMatch(/declareFingerprint/);
    // Straight through the contract, bypassing the CLI: a junk model registered with the original's
    // fingerprint is accepted (the check is the client's), but it is younger, so copies still name
    // the original.
    const { result } = await writeAndWait(stranger, { ...registry(), functionName: "register", args: ["squatter", `0x${"cd".repeat(32)}`, `0x${"ef".repeat(32)}`, "none", 0, original.fingerprintHash] });
    expect(result as bigint).toBeGreaterThan(original.modelId);
    const refusal = await refused(other.root, reupload);
    expect(refusal).toContain(`of model #${original.modelId} "tiny"`);
  });

  it("drops a kept manifest's fingerprint that disagrees with the one registered: the registry's hash decides on every machine", async () => {
    // A hand-made registration: a manifest naming the original's fingerprint, registered with another.
    const kept = await loadManifest(net.home.manifests, (await net.creator.public.readContract({ ...registry(), functionName: "getModel", args: [original.modelId] })).manifestHash);
    const manifest = { ...kept.manifest, weightsHash: `0x${"12".repeat(32)}` as Hex, name: "disagrees" };
    const stored = await storeManifest(net.home.manifests, { manifest, signature: kept.signature });
    const declared = `0x${"34".repeat(32)}` as Hex;
    const { result } = await writeAndWait(net.creator, { ...registry(), functionName: "register", args: ["disagrees", manifest.weightsHash, stored.manifestHash, stored.metadataURI, 0, declared] });
    const candidate = (await readRegisteredFingerprints(net.creator.public, deployment, net.home.manifests)).find((c) => c.modelId === result);
    expect(candidate).toEqual({ modelId: result, name: "disagrees", fingerprint: undefined, fingerprintHash: declared });
  });

  it("gotong model verify checks the registered fingerprint against the manifest's and the file's own", async () => {
    const result = await runGotong(["model", "verify", original.path, "--home", net.home.root]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`fingerprint.*${original.fingerprintHash}, registered with the model, is the manifest's and the files'`));
  });

  it("costs a registration about 2k gas more than one without a fingerprint", async () => {
    const args = ["gas", `0x${"56".repeat(32)}`, `0x${"78".repeat(32)}`, "none", 0] as const;
    const without = await net.creator.public.estimateContractGas({ ...registry(), functionName: "register", args, account: net.creator.account });
    const withFingerprint = await net.creator.public.estimateContractGas({ ...registry(), functionName: "register", args: [...args, original.fingerprintHash], account: net.creator.account });
    expect(withFingerprint - without).toBeGreaterThan(1_500n);
    expect(withFingerprint - without).toBeLessThan(2_500n);
  });
});
