import { copyFile, mkdir, open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { erc20Abi, getAddress, isAddressEqual, parseEventLogs, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { DataPoolArtifact, ModelRegistryArtifact, PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import type { Deployment } from "../../src/chain/deployment.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { datasetManifestTypedData } from "../../src/data/datasetManifestTypedData.ts";
import { prepareDatasetManifest } from "../../src/data/prepareDatasetManifest.ts";
import { collectProtocolFees } from "../../src/funding/collectProtocolFees.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import { publishModel } from "../../src/model/publishModel.ts";
import { readGgufHeader } from "../../src/model/readGgufHeader.ts";
import { deriveKeyPair } from "../../src/privacy/hpke.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { withdrawProviderEarnings } from "../../src/provider/withdrawProviderEarnings.ts";
import { chatModel, type ChatModel } from "../helpers/chatModel.ts";
import { cliInHome } from "../helpers/cliInHome.ts";
import { gotongRejectionOf } from "../helpers/gotongErrorOf.ts";
import { startTestNetwork, UNIT, type TestNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import { readCost } from "../helpers/readCost.ts";

/**
 * Derivatives and data, end to end on a real chain with the shipped CLI: a base model; a fine-tune
 * of it (same architecture, vocabulary and tensor shapes, other bytes) that must name it, paying it
 * 30 % of its royalty, and naming a dataset of three contributors (a data pool) at 10 %; paid
 * requests to the fine-tune through the gateway; then, after the base model's token and some pool
 * shares change hands, every party withdraws and each ERC-20 `Transfer` is asserted to the base
 * unit against the split computed here. Bad input is refused by name along the way.
 */
describe("royalties flow from a fine-tune to its base model and to the data it was trained on", () => {
  let net: TestNetwork;
  let deployment: Deployment;
  let base: ChatModel;
  let baseId: bigint;
  let fineTunePath: string;
  let fineTuneId: bigint;
  let datasetId: bigint;
  let pool: Address;
  let provider: RunningProvider & { key: Hex };
  let gateway: RunningGateway & { key: Hex };
  let redeemed: bigint;

  // Who is who. The creator (net.creator) publishes the base model and sells its token to `buyer`.
  const keys = { fineTuner: generatePrivateKey(), c1: generatePrivateKey(), c2: generatePrivateKey(), c3: generatePrivateKey(), c4: generatePrivateKey(), buyer: generatePrivateKey(), owner: generatePrivateKey(), mallory: generatePrivateKey() };
  const address = (key: Hex) => privateKeyToAccount(key).address;
  const keyFile: Record<string, string> = {};
  const clientsOf = (key: Hex): ChainClients => createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(key) });

  const ROYALTY_BPS = 1000n; // the fine-tune's royalty
  const PARENT_SHARE_BPS = 3000n;
  const DATASET_SHARE_BPS = 1000n;
  const POOL_SHARES = { c1: 5000n, c2: 3000n, c3: 2000n };

  const cli = () => cliInHome(net.home.root);
  const gotong = (...args: string[]) => cli().gotong(...args);
  const json = <T>(...args: string[]) => cli().json<T>(...args);
  const refused = (pattern: RegExp, ...args: string[]) => cli().refused(pattern, ...args);
  /** The payment token's transfers to `to` in transaction `hash`. */
  const tokenTransfers = async (hash: Hex, to: Address) => {
    const receipt = await net.creator.public.getTransactionReceipt({ hash });
    return parseEventLogs({ abi: erc20Abi, eventName: "Transfer", logs: receipt.logs })
      .filter((log) => isAddressEqual(log.address, deployment.token.address) && isAddressEqual(log.args.to, to))
      .map((log) => ({ from: getAddress(log.args.from), value: log.args.value }));
  };
  const modelCount = () => net.creator.public.readContract({ address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "modelCount" });

  beforeAll(async () => {
    net = await startTestNetwork();
    deployment = net.devnet.deployment;
    for (const [name, key] of Object.entries(keys)) {
      await fundOnDevnet(deployment, address(key), {});
      keyFile[name] = join(net.home.root, `${name}.key`);
      await writeFile(keyFile[name]!, key + "\n", { mode: 0o600 });
    }
    keyFile.creator = join(net.home.root, "creator.key");
    await writeFile(keyFile.creator, net.creatorKey + "\n", { mode: 0o600 });

    base = await chatModel(net.home.models);
    baseId = await net.publish(base.path, base.name, 1000);
    // A fine-tune: the base's file with one weight nudged (its lowest mantissa bit). Same
    // architecture, vocabulary, tensor names and shapes; another weights hash; still loads.
    fineTunePath = join(net.home.models, "fine-tune.gguf");
    await copyFile(base.path, fineTunePath);
    const header = await readGgufHeader(fineTunePath);
    const f32 = header.tensors.find((t) => t.typeName === "F32" && t.elementCount > 1n)!;
    const handle = await open(fineTunePath, "r+");
    const at = Number(header.dataOffset + f32.offset);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0]! ^= 1;
    await handle.write(byte, 0, 1, at);
    await handle.close();
  }, 120_000);
  afterAll(() => net?.stop());

  it("lets the base model's owner set its licence terms for derivatives", async () => {
    const set = await json<{ minShareBps: number }>("model", "set-derivative-terms", `${baseId}`, "2000", "--key", keyFile.creator!);
    expect(set.minShareBps).toBe(2000);
    await refused(/owned by .*, not by/, "model", "set-derivative-terms", `${baseId}`, "100", "--key", keyFile.mallory!);
  });

  it("publishes a dataset of three contributors as a data pool, and refuses a forged dataset manifest", async () => {
    const dir = join(net.home.root, "corpus");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "c1.jsonl"), '{"text":"once upon a time"}\n');
    await writeFile(join(dir, "c2.jsonl"), '{"text":"the cat sat"}\n');
    await writeFile(join(dir, "c3.jsonl"), '{"text":"lily went home"}\n');
    const owners = (["c1", "c2", "c3"] as const).flatMap((c) => ["--owner", `${address(keys[c])}:${POOL_SHARES[c]}`]);

    // Forged: a manifest naming c1 as creator, signed by mallory, published from c1's key.
    const manifest = await prepareDatasetManifest({ path: dir, license: "CC-BY-4.0", owners: (["c1", "c2", "c3"] as const).map((c) => ({ address: address(keys[c]), shareBps: Number(POOL_SHARES[c]) })), creator: address(keys.c1), chainId: deployment.chainId, datasetRegistry: deployment.datasetRegistry! });
    const forgedFile = join(net.home.root, "forged.json");
    await writeFile(forgedFile, JSON.stringify({ manifest, signature: await privateKeyToAccount(keys.mallory).signTypedData(datasetManifestTypedData(manifest)) }));
    await refused(/The dataset manifest's signature recovers to 0x[0-9a-fA-F]{40}, not to the creator it names/, "data", "publish", dir, "--manifest", forgedFile, "--key", keyFile.c1!);
    // Genuine, but for other files: refused because the files do not hash to it.
    const genuineFile = join(net.home.root, "genuine.json");
    await writeFile(genuineFile, JSON.stringify({ manifest, signature: await privateKeyToAccount(keys.c1).signTypedData(datasetManifestTypedData(manifest)) }));
    const other = join(net.home.root, "other-corpus");
    await mkdir(other, { recursive: true });
    for (const f of ["c1.jsonl", "c2.jsonl", "c3.jsonl"]) await copyFile(join(dir, f), join(other, f));
    await writeFile(join(other, "c3.jsonl"), '{"text":"lily went hom!"}\n');
    await refused(/c3\.jsonl has sha256 [0-9a-f]{64}; the signed manifest says/, "data", "publish", other, "--manifest", genuineFile, "--key", keyFile.c1!);

    const published = await json<{ datasetId: string; owner: string; owners: { address: string; shareBps: number }[]; manifestHash: Hex }>("data", "publish", dir, "--license", "CC-BY-4.0", ...owners, "--key", keyFile.c1!);
    datasetId = BigInt(published.datasetId);
    pool = getAddress(published.owner);
    expect(pool).not.toBe(address(keys.c1));
    for (const c of ["c1", "c2", "c3"] as const) {
      expect(await net.creator.public.readContract({ address: pool, abi: DataPoolArtifact.abi, functionName: "balanceOf", args: [address(keys[c])] })).toBe(POOL_SHARES[c]);
    }
    const verified = await json<{ ok: boolean; checks: { name: string; ok: boolean }[] }>("data", "verify", `${datasetId}`, "--path", dir);
    expect(verified.checks.map((c) => `${c.name}:${c.ok}`)).toEqual(["registry:true", "manifest:true", "signature:true", "registry entry:true", "files:true"]);
    // A stored copy altered after the fact is caught by its hash.
    const storedPath = join(net.home.root, "datasets", `${published.manifestHash.slice(2)}.json`);
    const altered = join(net.home.root, "altered.json");
    await writeFile(altered, (await readFile(storedPath, "utf8")).replace("CC-BY-4.0", "CC0-1.0"));
    await refused(/was altered: its sha256 is 0x[0-9a-f]{64}, not the 0x[0-9a-f]{64} the registry holds/, "data", "verify", `${datasetId}`, "--manifest", altered);
    await refused(/c3\.jsonl has sha256/, "data", "verify", `${datasetId}`, "--path", other);
  });

  it("refuses a derivative that names no parent, a missing parent, itself, shares over the cap and a share below the parent's terms", async () => {
    const before = await modelCount();
    const ft = ["model", "publish", fineTunePath, "--name", "fine-tune", "--royalty-bps", `${ROYALTY_BPS}`, "--key", keyFile.fineTuner!];
    const undeclared = await refused(new RegExp(`looks like a re-upload, quantisation or fine-tune of model #${baseId} "${base.name}" \\(the same architecture`), ...ft);
    expect(undeclared).toContain(`hint: Declare it: add --parent ${baseId} --relation quantisation`);
    await refused(/Parent model #999 does not exist/, ...ft, "--parent", "999", "--relation", "fine-tune");
    await refused(new RegExp(`Model #${baseId}'s licence asks its derivatives for at least 2000 bps of their royalty; you offered 1000`), ...ft, "--parent", `${baseId}:1000`, "--relation", "fine-tune");
    await refused(/take 9001 bps of its royalty in total; at most 9000 are allowed/, ...ft, "--parent", `${baseId}:8001`, "--relation", "fine-tune", "--dataset", `${datasetId}:1000`);
    await refused(/--parent needs --relation/, ...ft, "--parent", `${baseId}`);
    // Itself: a model's own id is not issued before it is registered, so it cannot be its own
    // parent, and no cycle can ever be written (parents are always older).
    const self = await gotongRejectionOf(
      publishModel(clientsOf(keys.fineTuner), deployment, { path: fineTunePath, royaltyBps: 1000, manifestsDir: net.home.manifests, parents: [{ modelId: `${before + 1n}`, relation: "fine-tune", shareBps: 3000 }] }),
    );
    expect(self.code).toBe("model_lineage_refused");
    expect(self.message).toContain(`ParentNotFound(parentId=${before + 1n})`);
    // The registry refuses over-cap stacks itself too, whatever a client sends.
    const overCap = await gotongRejectionOf(
      writeAndWait(clientsOf(keys.fineTuner), {
        address: deployment.modelRegistry,
        abi: ModelRegistryArtifact.abi,
        functionName: "registerDerivative",
        args: ["raw", `0x${"ab".repeat(32)}`, `0x${"cd".repeat(32)}`, "raw", 1000, [{ modelId: baseId, relation: 1, shareBps: 9000 }], [{ datasetId, shareBps: 1 }]],
      }),
    );
    expect(overCap.message).toContain("StackTooLarge(totalBps=9001, maximum=9000)");
    expect(await modelCount()).toBe(before);
  });

  it("publishes the fine-tune naming its base at 30 % and the dataset at 10 %, and shows the lineage", async () => {
    const published = await json<{ modelId: string; parents: unknown[]; datasets: unknown[] }>(
      "model", "publish", fineTunePath, "--name", "fine-tune", "--royalty-bps", `${ROYALTY_BPS}`, "--key", keyFile.fineTuner!,
      "--parent", `${baseId}:${PARENT_SHARE_BPS}`, "--relation", "fine-tune", "--dataset", `${datasetId}:${DATASET_SHARE_BPS}`,
    );
    fineTuneId = BigInt(published.modelId);
    expect(published.parents).toEqual([{ modelId: `${baseId}`, relation: "fine-tune", shareBps: 3000 }]);
    expect(published.datasets).toEqual([{ datasetId: `${datasetId}`, shareBps: 1000 }]);
    const lineage = await json<{ depth: number; parents: { relation: string; shareBps: number; model: { modelId: string; depth: number } }[]; datasets: { datasetId: string; shareBps: number; owner: string }[] }>("model", "lineage", `${fineTuneId}`);
    expect(lineage.depth).toBe(1);
    expect(lineage.parents).toMatchObject([{ relation: "fine-tune", shareBps: 3000, model: { modelId: `${baseId}`, depth: 0 } }]);
    expect(lineage.datasets).toMatchObject([{ datasetId: `${datasetId}`, shareBps: 1000, owner: pool }]);
  });

  it("pays every party exactly its share after paid requests, a sale of the base model's token and a transfer of pool shares", async () => {
    // A price well above the default so that every share, down to the smallest pool holder's, is
    // many base units (at the default a pool holder's share of three short answers rounds to 0).
    provider = await net.provider(fineTunePath, { modelId: fineTuneId, price: { pricePerMillionInput: 1_000_000_000n, pricePerMillionOutput: 2_000_000_000n } });
    gateway = await net.gateway();
    let costs = 0n;
    for (const prompt of ["Once upon a time", "A cat sat", "The sun rose"]) {
      const res = await postChat(gateway.baseUrl, "fine-tune", prompt, { max_tokens: 6 });
      expect(res.status).toBe(200);
      const { cost } = await readCost(res);
      expect(cost).toBeGreaterThan(0n);
      costs += cost!;
    }
    await gateway.settle();
    redeemed = (await provider.redeemer.redeemNow()).amount;
    expect(redeemed).toBe(costs);
    expect(redeemed).toBeGreaterThan(0n);

    // The split, computed here: redeem splits the payment; flowing splits the royalty.
    const feeBps = BigInt(deployment.protocolFeeBps);
    const royalty = (redeemed * ROYALTY_BPS) / 10_000n;
    const fee = (redeemed * feeBps) / 10_000n;
    const providerShare = redeemed - royalty - fee;
    const toBase = (royalty * PARENT_SHARE_BPS) / 10_000n;
    const toDataset = (royalty * DATASET_SHARE_BPS) / 10_000n;
    const kept = royalty - toBase - toDataset;

    // The base model's token is sold; c1 gives 1000 of its pool shares to c4. Both before any flow.
    await json("model", "transfer", `${baseId}`, address(keys.buyer), "--yes", "--key", keyFile.creator!);
    await writeAndWait(clientsOf(keys.c1), { address: pool, abi: DataPoolArtifact.abi, functionName: "transfer", args: [address(keys.c4), 1000n] });
    const shares = { c1: POOL_SHARES.c1 - 1000n, c2: POOL_SHARES.c2, c3: POOL_SHARES.c3, c4: 1000n };

    // The fine-tune's owner withdraws: its royalties flow up the stack first, and it keeps the rest.
    const ft = await json<{ total: string; withdrawals: { transactionHash: Hex }[] }>("model", "withdraw", `${fineTuneId}`, "--key", keyFile.fineTuner!);
    expect(ft.total).toBe(`${kept}`);
    expect(await tokenTransfers(ft.withdrawals[0]!.transactionHash, address(keys.fineTuner))).toEqual([{ from: getAddress(deployment.paymentChannels), value: kept }]);

    // The base model's new owner is paid the parent's share; the seller nothing.
    await refused(/owned by .*, not by/, "model", "withdraw", `${baseId}`, "--key", keyFile.creator!);
    const earnings = await json<{ accounts: { fromDerivatives: { childId: string; flowed: string; pending: string }[] }[] }>("earnings", "--key", keyFile.buyer!);
    expect(earnings.accounts[0]!.fromDerivatives).toEqual([{ modelId: `${baseId}`, childId: `${fineTuneId}`, shareBps: 3000, flowed: `${toBase}`, pending: "0" }]);
    const baseOwner = await json<{ total: string; withdrawals: { transactionHash: Hex }[] }>("model", "withdraw", `${baseId}`, "--key", keyFile.buyer!);
    expect(baseOwner.total).toBe(`${toBase}`);
    expect(await tokenTransfers(baseOwner.withdrawals[0]!.transactionHash, address(keys.buyer))).toEqual([{ from: getAddress(deployment.paymentChannels), value: toBase }]);

    // `gotong earnings` shows a pool holder its shares and the dataset's flowed share, not yet in the pool.
    const holder = await json<{ accounts: { pools: { pool: string; datasetId: string; shares: string; totalShares: string; claimable: string; claimed: string; uncollected: string }[] }[] }>("earnings", "--key", keyFile.c2!);
    expect(holder.accounts[0]!.pools).toEqual([{ pool, datasetId: `${datasetId}`, shares: `${shares.c2}`, totalShares: "10000", claimable: "0", claimed: "0", uncollected: `${toDataset}` }]);

    // Each contributor claims its part by the shares it held when the money arrived; the pool
    // keeps the rounding dust (under one unit per holder) for its holders.
    const claims: Record<string, bigint> = {};
    for (const c of ["c1", "c2", "c3", "c4"] as const) {
      const claim = await json<{ amount: string; transactionHash: Hex }>("data", "claim", `${datasetId}`, "--key", keyFile[c]!);
      claims[c] = BigInt(claim.amount);
      expect(claims[c]).toBe((toDataset * shares[c]) / 10_000n);
      expect(claims[c]).toBeGreaterThan(0n);
      expect(await tokenTransfers(claim.transactionHash, address(keys[c]))).toEqual([{ from: pool, value: claims[c] }]);
    }
    const dust = toDataset - Object.values(claims).reduce((a, b) => a + b, 0n);
    expect(dust).toBeGreaterThanOrEqual(0n);
    expect(dust).toBeLessThan(4n);
    expect(await net.creator.public.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [pool] })).toBe(dust);

    // The provider and the protocol fee, each as the token transfer out of PaymentChannels.
    const paidProvider = await withdrawProviderEarnings(clientsOf(provider.key), deployment);
    expect(paidProvider.transferred).toBe(providerShare);
    expect(await tokenTransfers(paidProvider.hash, address(provider.key))).toEqual([{ from: getAddress(deployment.paymentChannels), value: providerShare }]);
    const funding = getAddress(deployment.quadraticFunding!);
    const feesBefore = await net.creator.public.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [funding] });
    const collected = await collectProtocolFees(net.creator, deployment);
    expect(collected).toBe(fee);
    expect((await net.creator.public.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [funding] })) - feesBefore).toBe(fee);

    // Every redeemed unit reached exactly one party.
    expect(kept + toBase + Object.values(claims).reduce((a, b) => a + b, 0n) + dust + fee + providerShare).toBe(redeemed);
    expect(await net.creator.public.readContract({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "pendingRoyalties", args: [fineTuneId] })).toBe(0n);
    expect(UNIT).toBe(1_000_000n);
  }, 180_000);

  it("grants a sealed dataset's key only from the wallet that owns it, and only to a valid X25519 key", async () => {
    const plain = join(net.home.root, "private-rows");
    await mkdir(plain, { recursive: true });
    await writeFile(join(plain, "rows.jsonl"), '{"secret":"only for granted trainers"}\n');
    const sealed = join(net.home.root, "private-rows.sealed");
    const published = await json<{ datasetId: string; sealed: boolean }>("data", "publish", plain, "--seal", sealed, "--key", keyFile.owner!);
    expect(published.sealed).toBe(true);
    expect((await readFile(join(sealed, "rows.jsonl"))).includes(Buffer.from("secret"))).toBe(false);

    const trainer = (await json<{ publicKey: Hex }>("data", "trainer-key")).publicKey;
    await refused(new RegExp(`${address(keys.mallory)} does not own dataset #${published.datasetId}: its token is owned by ${address(keys.owner)}, so this wallet cannot grant access to it`), "data", "grant", published.datasetId, "--to", trainer, "--key", keyFile.mallory!);
    await refused(/is not a valid X25519 public key for a grant/, "data", "grant", published.datasetId, "--to", `0x${"00".repeat(32)}`, "--key", keyFile.owner!);
    await refused(/is not an X25519 public key: expected 0x and 64 hex digits/, "data", "grant", published.datasetId, "--to", "0x1234", "--key", keyFile.owner!);

    const grantFile = join(net.home.root, "grant.json");
    await json("data", "grant", published.datasetId, "--to", trainer, "--out", grantFile, "--key", keyFile.owner!);
    const keyOut = join(net.home.root, "dataset.key");
    const opened = await gotong("data", "open", grantFile, "--out", keyOut);
    expect(opened.code, opened.stderr).toBe(0);
    const { openDatasetFile } = await import("../../src/data/sealDatasetFile.ts");
    const key = Buffer.from((await readFile(keyOut, "utf8")).trim(), "hex");
    expect(Buffer.from(openDatasetFile(key, "rows.jsonl", await readFile(join(sealed, "rows.jsonl")))).toString()).toBe('{"secret":"only for granted trainers"}\n');
    // Sealed to the trainer: another key cannot open it.
    const stranger = deriveKeyPair(Buffer.alloc(32, 7));
    const { openDatasetGrant } = await import("../../src/data/openDatasetGrant.ts");
    expect((await gotongRejectionOf(openDatasetGrant(JSON.parse(await readFile(grantFile, "utf8")), stranger.privateKeyBytes))).code).toBe("dataset_grant_invalid");
  });
});
