import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bytesToHex, getAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClients, createReader, type ChainClients } from "../../src/chain/createClients.ts";
import { DataPoolArtifact } from "../../src/chain/contracts.generated.ts";
import type { Deployment } from "../../src/chain/deployment.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { approveDatasetGrant } from "../../src/data/approveDatasetGrant.ts";
import { assemblePoolGrant } from "../../src/data/assemblePoolGrant.ts";
import { datasetGrantApprovalTypedData, grantFieldsOf, type DatasetGrantApproval, type DatasetPoolGrant } from "../../src/data/datasetPoolGrant.ts";
import { grantDatasetAccess } from "../../src/data/grantDatasetAccess.ts";
import { openDatasetGrant } from "../../src/data/openDatasetGrant.ts";
import { publishDataset } from "../../src/data/publishDataset.ts";
import { requestPoolGrant } from "../../src/data/requestPoolGrant.ts";
import { openDatasetFile } from "../../src/data/sealDatasetFile.ts";
import { sealDatasetFolder } from "../../src/data/sealDatasetFolder.ts";
import { deriveKeyPair } from "../../src/privacy/hpke.ts";
import { runGotong } from "../helpers/cli.ts";
import { gotongRejectionOf } from "../helpers/gotongErrorOf.ts";
import { startTestNetwork, type TestNetwork } from "../helpers/network.ts";

/**
 * Granting a pool-owned dataset by a share-weighted vote, on a real chain: the pool (a contract)
 * cannot sign, so a grant of its dataset carries the EIP-712 approvals of holders of more than
 * half its shares, counted at one block the grant names. Three contributors hold 5000/3000/2000.
 */
describe("a data pool grants its dataset by its holders' majority", () => {
  let net: TestNetwork;
  let deployment: Deployment;
  let reader: ReturnType<typeof createReader>;
  let datasetId: bigint;
  let pool: Address;
  let sealedDir: string;
  let request: DatasetPoolGrant;
  const approval: Record<string, DatasetGrantApproval> = {};

  const keys = { c1: generatePrivateKey(), c2: generatePrivateKey(), c3: generatePrivateKey(), mallory: generatePrivateKey() };
  const account = (name: keyof typeof keys) => privateKeyToAccount(keys[name]);
  const clientsOf = (name: keyof typeof keys): ChainClients => createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: account(name) });
  const SHARES = { c1: 5000n, c2: 3000n, c3: 2000n };
  const TOTAL = SHARES.c1 + SHARES.c2 + SHARES.c3;
  const datasetKey = randomBytes(32);
  const trainer = deriveKeyPair(randomBytes(32));
  const trainerKey = bytesToHex(trainer.publicKey);
  const otherTrainer = deriveKeyPair(randomBytes(32));
  const assemble = (names: (keyof typeof approval)[], from = request) => assemblePoolGrant(reader, deployment, from, names.map((n) => approval[n]!));
  const open = (grant: unknown) => openDatasetGrant(JSON.parse(JSON.stringify(grant)), trainer.privateKeyBytes, { chain: { client: reader, deployment } });

  beforeAll(async () => {
    net = await startTestNetwork();
    deployment = net.devnet.deployment;
    reader = createReader(deployment);
    for (const name of Object.keys(keys) as (keyof typeof keys)[]) await fundOnDevnet(deployment, account(name).address, {});
    const source = join(net.home.root, "corpus");
    sealedDir = join(net.home.root, "corpus-sealed");
    await mkdir(source, { recursive: true });
    await writeFile(join(source, "train.jsonl"), '{"text":"once upon a time"}\n');
    await sealDatasetFolder(source, sealedDir, datasetKey);
    const published = await publishDataset(clientsOf("c1"), deployment, {
      path: sealedDir,
      license: "CC-BY-4.0",
      sealed: true,
      owners: (["c1", "c2", "c3"] as const).map((c) => ({ address: account(c).address, shareBps: Number(SHARES[c]) })),
      datasetsDir: join(net.home.root, "datasets"),
    });
    datasetId = published.datasetId;
    pool = getAddress(published.pool!);
    // c1, the pool's creator, holds the dataset key and asks its pool to let the trainer in.
    request = await requestPoolGrant(reader, deployment, account("c1"), { datasetId, recipientPublicKey: trainerKey, datasetKey });
    for (const c of ["c1", "c2", "c3"] as const) approval[c] = await approveDatasetGrant(reader, deployment, account(c), request);
  }, 120_000);
  afterAll(() => net?.stop());

  it("names the pool and the block its shares are counted at in the request, whose balances are the contributors' shares", async () => {
    expect(request).toMatchObject({ schema: "gotong.dataset-pool-grant/1", datasetId: `${datasetId}`, pool, granter: account("c1").address, recipientPublicKey: trainerKey, approvals: [] });
    for (const c of ["c1", "c2", "c3"] as const) expect(await reader.readContract({ address: pool, abi: DataPoolArtifact.abi, functionName: "balanceOf", args: [account(c).address] })).toBe(SHARES[c]);
    // The request is not a grant: no one has approved it yet.
    expect((await gotongRejectionOf(open(request))).message).toContain(`its 0 approval(s) hold 0 of ${TOTAL} shares`);
  });

  it("refuses exactly half (3000 + 2000 of 10000), naming the approving shares and what was needed", async () => {
    const error = await gotongRejectionOf(assemble(["c2", "c3"]));
    expect(error.code).toBe("dataset_grant_not_approved");
    expect(error.message).toBe(`The grant of dataset #${datasetId} is not approved by the pool: its 2 approval(s) hold 5000 of 10000 shares at block ${request.atBlock}; more than half, at least 5001, is needed.`);
    // Put together by hand, the trainer refuses it the same way.
    const byHand = { ...request, approvals: [approval.c2!, approval.c3!].map(({ holder, signature }) => ({ holder, signature })) };
    expect((await gotongRejectionOf(open(byHand))).message).toContain("hold 5000 of 10000 shares");
  });

  it("grants with 5000 + 2000 of 10000, and the trainer opens the dataset key and the sealed files", async () => {
    const { grant, tally } = await assemble(["c1", "c3"]);
    expect(tally).toMatchObject({ approved: 7000n, totalSupply: 10000n, pool });
    const opened = await open(grant);
    expect(Buffer.from(opened.datasetKey).equals(datasetKey)).toBe(true);
    expect(new TextDecoder().decode(openDatasetFile(opened.datasetKey, "train.jsonl", await readFile(join(sealedDir, "train.jsonl"))))).toBe('{"text":"once upon a time"}\n');
  });

  it("refuses an approval signed for another recipient's key, whether assembled or put in by hand", async () => {
    const other = await requestPoolGrant(reader, deployment, account("c1"), { datasetId, recipientPublicKey: bytesToHex(otherTrainer.publicKey), datasetKey });
    const forOther = await approveDatasetGrant(reader, deployment, account("c1"), other);
    const assembled = await gotongRejectionOf(assemblePoolGrant(reader, deployment, request, [forOther, approval.c3!]));
    expect(assembled.code).toBe("dataset_grant_invalid");
    expect(assembled.message).toContain(`${account("c1").address}'s approval is not of this grant request: its recipientPublicKey is`);
    const byHand = { ...request, approvals: [{ holder: forOther.holder, signature: forOther.signature }, { holder: approval.c3!.holder, signature: approval.c3!.signature }] };
    const opened = await gotongRejectionOf(open(byHand));
    expect(opened.code).toBe("dataset_grant_invalid");
    expect(opened.message).toContain(`Approval 1 is not ${account("c1").address}'s approval of this grant`);
  });

  it("counts a duplicated approval once, and refuses a grant that lists a holder twice", async () => {
    // 3000 twice + 2000 would be 8000 if the copy counted; it is 5000, a tie.
    expect((await gotongRejectionOf(assemble(["c2", "c2", "c3"]))).message).toContain("its 2 approval(s) hold 5000 of 10000 shares");
    const twice = { ...request, approvals: [approval.c2!, approval.c2!, approval.c3!].map(({ holder, signature }) => ({ holder, signature })) };
    const error = await gotongRejectionOf(open(twice));
    expect(error.code).toBe("dataset_grant_invalid");
    expect(error.message).toBe(`The grant lists ${account("c2").address}'s approval twice: a holder's shares count once.`);
  });

  it("refuses a forged approval: signed by someone else in a holder's name", async () => {
    const typedData = datasetGrantApprovalTypedData({ ...grantFieldsOf(request), pool, atBlock: request.atBlock });
    const forged = { ...approval.c1!, signature: await account("mallory").signTypedData(typedData) };
    const error = await gotongRejectionOf(assemblePoolGrant(reader, deployment, request, [forged, approval.c3!]));
    expect(error.code).toBe("dataset_grant_invalid");
    expect(error.message).toBe(`Approval 1 is not ${account("c1").address}'s approval of this grant: its signature recovers to ${account("mallory").address}. It was forged, or signed for another recipient, sealed key, pool or block.`);
  });

  it("counts shares at the grant's block: a transfer after it changes nothing", async () => {
    const { grant } = await assemble(["c1", "c3"]);
    // c1 gives all its shares to c2 after the request's block.
    await writeAndWait(clientsOf("c1"), { address: pool, abi: DataPoolArtifact.abi, functionName: "transfer", args: [account("c2").address, SHARES.c1] });
    expect(await reader.readContract({ address: pool, abi: DataPoolArtifact.abi, functionName: "balanceOf", args: [account("c2").address] })).toBe(8000n);
    // The grant approved by c1 and c3 still holds (7000 at its block); c2 + c3, now 10000, still tie at it.
    expect(Buffer.from((await open(grant)).datasetKey).equals(datasetKey)).toBe(true);
    expect((await gotongRejectionOf(assemble(["c2", "c3"]))).message).toContain("hold 5000 of 10000 shares");
    // At a block after the transfer, c1 has nothing to vote with.
    const later = await requestPoolGrant(reader, deployment, account("c1"), { datasetId, recipientPublicKey: trainerKey, datasetKey });
    expect(BigInt(later.atBlock)).toBeGreaterThan(BigInt(request.atBlock));
    expect((await gotongRejectionOf(approveDatasetGrant(reader, deployment, account("c1"), later))).message).toContain(`held no shares of pool ${pool} at block ${later.atBlock}`);
    const c2Later = await approveDatasetGrant(reader, deployment, account("c2"), later);
    const { tally } = await assemblePoolGrant(reader, deployment, later, [c2Later]);
    expect(tally.approved).toBe(8000n);
  });

  it("refuses a block after the latest", async () => {
    const future = { ...request, atBlock: `${BigInt(request.atBlock) + 1_000_000n}` };
    expect((await gotongRejectionOf(open(future))).message).toMatch(/counts shares at block \d+, after the chain's latest block/);
  });

  it("still grants a dataset with one owner by that owner's signature alone", async () => {
    const single = join(net.home.root, "single-sealed");
    const singleSource = join(net.home.root, "single");
    await mkdir(singleSource, { recursive: true });
    await writeFile(join(singleSource, "a.jsonl"), '{"text":"alone"}\n');
    const key = randomBytes(32);
    await sealDatasetFolder(singleSource, single, key);
    const published = await publishDataset(clientsOf("c3"), deployment, { path: single, license: "CC-BY-4.0", sealed: true, datasetsDir: join(net.home.root, "datasets") });
    const grant = await grantDatasetAccess(reader, deployment, account("c3"), { datasetId: published.datasetId, recipientPublicKey: trainerKey, datasetKey: key });
    expect(grant.schema).toBe("gotong.dataset-grant/1");
    expect(Buffer.from((await open(grant)).datasetKey).equals(key)).toBe(true);
    // A pool grant request is refused for it: its owner grants it alone.
    expect((await gotongRejectionOf(requestPoolGrant(reader, deployment, account("c3"), { datasetId: published.datasetId, recipientPublicKey: trainerKey, datasetKey: key }))).code).toBe("dataset_not_owner");
  });

  it("runs the whole flow with the CLI: request, approvals, grant, open", async () => {
    const home = net.home.root;
    const gotong = (...args: string[]) => runGotong([...args, "--home", home]);
    const keyFile = async (name: keyof typeof keys) => {
      const file = join(home, `${name}.key`);
      await writeFile(file, keys[name] + "\n", { mode: 0o600 });
      return file;
    };
    // A new pool, published with --seal so the CLI keeps its key; shares today: c2 8000, c3 2000 in the first pool.
    const source = join(home, "cli-corpus");
    await mkdir(source, { recursive: true });
    await writeFile(join(source, "t.jsonl"), '{"text":"cli"}\n');
    const owners = (["c1", "c2", "c3"] as const).flatMap((c) => ["--owner", `${account(c).address}:${SHARES[c]}`]);
    const published = await gotong("data", "publish", source, "--seal", join(home, "cli-sealed"), ...owners, "--key", await keyFile("c1"), "--json");
    expect(published.code, published.stderr).toBe(0);
    const id = JSON.parse(published.stdout).datasetId as string;
    const trainerPublic = (await gotong("data", "trainer-key")).stdout.trim();
    const requestFile = join(home, "request.json");
    const requested = await gotong("data", "grant", id, "--to", trainerPublic, "--out", requestFile, "--key", await keyFile("c1"), "--json");
    expect(requested.code, requested.stderr).toBe(0);
    expect(JSON.parse(requested.stdout)).toMatchObject({ datasetId: id, request: true });
    const approvalsDir = join(home, "approvals");
    await mkdir(approvalsDir);
    for (const c of ["c2", "c3"] as const) {
      const approved = await gotong("data", "approve-grant", requestFile, "--out", join(approvalsDir, `${c}.json`), "--key", await keyFile(c), "--json");
      expect(approved.code, approved.stderr).toBe(0);
      expect(JSON.parse(approved.stdout)).toMatchObject({ holder: account(c).address });
    }
    const grantFile = join(home, "grant.json");
    const tie = await gotong("data", "grant", "--request", requestFile, "--approvals", approvalsDir, "--out", grantFile);
    expect(tie.code).not.toBe(0);
    expect(tie.stderr).toContain("hold 5000 of 10000 shares");
    expect((await gotong("data", "approve-grant", requestFile, "--out", join(approvalsDir, "c1.json"), "--key", await keyFile("c1"))).code).toBe(0);
    const granted = await gotong("data", "grant", "--request", requestFile, "--approvals", join(approvalsDir, "c1.json"), join(approvalsDir, "c3.json"), "--out", grantFile, "--json");
    expect(granted.code, granted.stderr).toBe(0);
    expect(JSON.parse(granted.stdout)).toMatchObject({ approved: "7000", totalSupply: "10000" });
    const opened = await gotong("data", "open", grantFile, "--out", join(home, "dataset.key"));
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout).toContain(`granted by ${account("c1").address} with the approval of pool`);
    const key = Buffer.from((await readFile(join(home, "dataset.key"), "utf8")).trim(), "hex");
    expect(new TextDecoder().decode(openDatasetFile(key, "t.jsonl", await readFile(join(home, "cli-sealed", "t.jsonl"))))).toBe('{"text":"cli"}\n');
  }, 120_000);
});
