import { randomBytes } from "node:crypto";
import { bytesToHex, getAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { gotongRejectionOf } from "../../test/helpers/gotongErrorOf.ts";
import type { Deployment } from "../chain/deployment.ts";
import { deriveKeyPair } from "../privacy/hpke.ts";
import { datasetGrantApprovalTypedData, datasetGrantHash, grantFieldsOf, DATASET_POOL_GRANT_SCHEMA, type DatasetPoolGrant } from "./datasetPoolGrant.ts";
import { parseDatasetGrant, parseDatasetGrantApproval } from "./parseDatasetGrant.ts";
import { recoverPoolGrantApprovals } from "./recoverPoolGrantApprovals.ts";
import { sealDatasetGrant } from "./sealDatasetGrant.ts";

const REGISTRY = getAddress("0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0");
const POOL = getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3");
const deployment = { chainId: 31337, datasetRegistry: REGISTRY } as unknown as Deployment;
const granter = privateKeyToAccount(generatePrivateKey());
const holders = [privateKeyToAccount(generatePrivateKey()), privateKeyToAccount(generatePrivateKey())] as const;
const trainerKey = bytesToHex(deriveKeyPair(randomBytes(32)).publicKey);
const datasetKey = randomBytes(32);

async function requestTo(recipientPublicKey: string, atBlock = "12"): Promise<DatasetPoolGrant> {
  const grant = await sealDatasetGrant(granter, deployment, { datasetId: 3n, recipientPublicKey, datasetKey });
  return { ...grant, schema: DATASET_POOL_GRANT_SCHEMA, pool: POOL, atBlock, approvals: [] };
}

async function approvalOf(holder: (typeof holders)[number], request: DatasetPoolGrant) {
  return { holder: holder.address, signature: await holder.signTypedData(datasetGrantApprovalTypedData({ ...grantFieldsOf(request), pool: request.pool, atBlock: request.atBlock })) };
}

describe("DatasetGrantApproval", () => {
  it("binds the grant hash, so an approval names one sealing of the key to one recipient from one granter", async () => {
    const a = await requestTo(trainerKey);
    const b = await requestTo(trainerKey); // the same recipient, sealed again: another enc and sealed key
    const other = await requestTo(bytesToHex(deriveKeyPair(randomBytes(32)).publicKey));
    expect(datasetGrantHash(grantFieldsOf(a))).not.toBe(datasetGrantHash(grantFieldsOf(b)));
    expect(datasetGrantHash(grantFieldsOf(a))).not.toBe(datasetGrantHash(grantFieldsOf(other)));
    const typedData = datasetGrantApprovalTypedData({ ...grantFieldsOf(a), pool: POOL, atBlock: a.atBlock });
    expect(typedData.domain).toEqual({ name: "Gotong DatasetRegistry", version: "1", chainId: 31337, verifyingContract: REGISTRY });
    expect(typedData.message).toEqual({ datasetId: 3n, pool: POOL, recipientPublicKey: trainerKey.toLowerCase(), grantHash: datasetGrantHash(grantFieldsOf(a)), atBlock: 12n });
  });

  it("recovers each approval to its holder, and refuses one moved to another sealing, another block or a forged one", async () => {
    const request = await requestTo(trainerKey);
    const approvals = [await approvalOf(holders[0], request), await approvalOf(holders[1], request)];
    expect(await recoverPoolGrantApprovals({ ...request, approvals })).toEqual([holders[0].address, holders[1].address]);

    const resealed = await requestTo(trainerKey);
    expect((await gotongRejectionOf(recoverPoolGrantApprovals({ ...resealed, approvals }))).message).toContain(`Approval 1 is not ${holders[0].address}'s approval of this grant`);
    expect((await gotongRejectionOf(recoverPoolGrantApprovals({ ...request, atBlock: "13", approvals }))).code).toBe("dataset_grant_invalid");
    const forged = { holder: holders[1].address, signature: approvals[0]!.signature };
    expect((await gotongRejectionOf(recoverPoolGrantApprovals({ ...request, approvals: [forged] }))).message).toContain(`recovers to ${holders[0].address}`);
  });

  it("refuses a holder listed twice, even with the same genuine signature", async () => {
    const request = await requestTo(trainerKey);
    const one = await approvalOf(holders[0], request);
    const error = await gotongRejectionOf(recoverPoolGrantApprovals({ ...request, approvals: [one, { ...one, holder: getAddress(one.holder.toLowerCase()) }] }));
    expect(error.message).toBe(`The grant lists ${holders[0].address}'s approval twice: a holder's shares count once.`);
  });
});

describe("parseDatasetGrant", () => {
  it("reads a plain grant unchanged and a pool grant by its own schema", async () => {
    const plain = await sealDatasetGrant(granter, deployment, { datasetId: 3n, recipientPublicKey: trainerKey, datasetKey });
    expect(parseDatasetGrant(JSON.parse(JSON.stringify(plain)))).toEqual(plain);
    const request = await requestTo(trainerKey);
    const pooled = { ...request, approvals: [await approvalOf(holders[0], request)] };
    expect(parseDatasetGrant(JSON.parse(JSON.stringify(pooled)))).toEqual(pooled);
  });

  it("refuses pool fields on a plain grant, a missing field, a bad block and a malformed approval", async () => {
    const plain = await sealDatasetGrant(granter, deployment, { datasetId: 3n, recipientPublicKey: trainerKey, datasetKey });
    expect(() => parseDatasetGrant({ ...plain, pool: POOL })).toThrow(/must be an object with exactly chainId/);
    const request = await requestTo(trainerKey);
    const { approvals: _, ...noApprovals } = request;
    expect(() => parseDatasetGrant(noApprovals)).toThrow(/must be an object with exactly approvals, atBlock/);
    expect(() => parseDatasetGrant({ ...request, atBlock: "-1" })).toThrow("atBlock is not a decimal block number");
    expect(() => parseDatasetGrant({ ...request, atBlock: 12 })).toThrow("atBlock is not a decimal block number");
    expect(() => parseDatasetGrant({ ...request, approvals: [{ holder: POOL }] })).toThrow("approval 1 must be an object with exactly holder, signature");
    expect(() => parseDatasetGrant({ ...request, approvals: [{ holder: "0x12", signature: plain.signature }] })).toThrow("approval 1's holder is not an address");
    expect(() => parseDatasetGrant({ ...request, schema: "gotong.dataset-grant/2" })).toThrow(/schema is "gotong.dataset-grant\/2", expected/);
  });

  it("reads an approval file, refusing one with a field missing or altered in form", () => {
    const approval = { schema: "gotong.dataset-grant-approval/1", chainId: 31337, datasetRegistry: REGISTRY, datasetId: "3", pool: POOL, recipientPublicKey: trainerKey.toLowerCase(), grantHash: `0x${"ab".repeat(32)}`, atBlock: "12", holder: holders[0].address, signature: `0x${"cd".repeat(65)}` };
    expect(parseDatasetGrantApproval(approval)).toEqual(approval);
    const { grantHash: _, ...missing } = approval;
    expect(() => parseDatasetGrantApproval(missing)).toThrow(/approval must be an object with exactly/);
    expect(() => parseDatasetGrantApproval({ ...approval, grantHash: "0x12" })).toThrow("approval's grantHash is not 32 bytes of lowercase hex");
  });
});
