import { randomBytes } from "node:crypto";
import { bytesToHex, getAddress, type Address, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { gotongRejectionOf } from "../../test/helpers/gotongErrorOf.ts";
import type { Deployment } from "../chain/deployment.ts";
import { deriveKeyPair } from "../privacy/hpke.ts";
import { checkPoolGrantApprovals } from "./checkPoolGrantApprovals.ts";
import { datasetGrantApprovalTypedData, grantFieldsOf, DATASET_POOL_GRANT_SCHEMA, type DatasetPoolGrant } from "./datasetPoolGrant.ts";
import { sealDatasetGrant } from "./sealDatasetGrant.ts";

const REGISTRY = getAddress("0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0");
const FACTORY = getAddress("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512");
const POOL = getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3");
const deployment = { chainId: 31337, datasetRegistry: REGISTRY, dataPoolFactory: FACTORY } as unknown as Deployment;
const granter = privateKeyToAccount(generatePrivateKey());
const [a, b] = [privateKeyToAccount(generatePrivateKey()), privateKeyToAccount(generatePrivateKey())];

type ChainState = { balances: Record<Address, bigint>; totalSupply: bigint; latest?: bigint; unanswerable?: boolean; noCode?: boolean; poolDataset?: bigint };

/** A chain where POOL owns dataset 3, with `balances` at block 12 (and zero at any other block). */
function chainWith(state: ChainState): PublicClient {
  return {
    getBlockNumber: async () => state.latest ?? 20n,
    getCode: async ({ blockNumber }: { blockNumber: bigint }) => {
      if (state.unanswerable) throw new Error(`missing trie node for block ${blockNumber}`);
      return state.noCode ? undefined : "0x6080";
    },
    readContract: async ({ functionName, args, blockNumber }: { functionName: string; args?: [Address]; blockNumber?: bigint }) => {
      if (functionName === "ownerOf" || functionName === "poolOf") return POOL;
      if (functionName === "datasetId") return state.poolDataset ?? 3n;
      if (functionName === "totalSupply") return state.totalSupply;
      if (functionName === "balanceOf") return blockNumber === 12n ? (state.balances[args![0]] ?? 0n) : 0n;
      throw new Error(`unexpected ${functionName}`);
    },
  } as unknown as PublicClient;
}

async function grantApprovedBy(...holders: (typeof a)[]): Promise<DatasetPoolGrant> {
  const sealed = await sealDatasetGrant(granter, deployment, { datasetId: 3n, recipientPublicKey: bytesToHex(deriveKeyPair(randomBytes(32)).publicKey), datasetKey: randomBytes(32) });
  const request: DatasetPoolGrant = { ...sealed, schema: DATASET_POOL_GRANT_SCHEMA, pool: POOL, atBlock: "12", approvals: [] };
  const typedData = datasetGrantApprovalTypedData({ ...grantFieldsOf(request), pool: POOL, atBlock: "12" });
  return { ...request, approvals: await Promise.all(holders.map(async (h) => ({ holder: h.address, signature: await h.signTypedData(typedData) }))) };
}

describe("checkPoolGrantApprovals", () => {
  it("needs strictly more than half of the total, in base units, with an odd total too", async () => {
    const grant = await grantApprovedBy(a);
    const tie = await gotongRejectionOf(checkPoolGrantApprovals(chainWith({ balances: { [a.address]: 5000n }, totalSupply: 10000n }), deployment, grant));
    expect(tie.message).toBe("The grant of dataset #3 is not approved by the pool: its 1 approval(s) hold 5000 of 10000 shares at block 12; more than half, at least 5001, is needed.");
    expect((await checkPoolGrantApprovals(chainWith({ balances: { [a.address]: 5001n }, totalSupply: 10000n }), deployment, grant)).approved).toBe(5001n);
    // 10001 shares: 5000 is not more than half, 5001 is.
    expect((await gotongRejectionOf(checkPoolGrantApprovals(chainWith({ balances: { [a.address]: 5000n }, totalSupply: 10001n }), deployment, grant))).message).toContain("at least 5001, is needed");
    expect((await checkPoolGrantApprovals(chainWith({ balances: { [a.address]: 5001n }, totalSupply: 10001n }), deployment, grant)).approved).toBe(5001n);
  });

  it("adds the approvers' balances at the grant's block", async () => {
    const tally = await checkPoolGrantApprovals(chainWith({ balances: { [a.address]: 2n ** 95n, [b.address]: 1n }, totalSupply: 2n ** 96n }), deployment, await grantApprovedBy(a, b));
    expect(tally).toMatchObject({ approved: 2n ** 95n + 1n, totalSupply: 2n ** 96n, atBlock: 12n, holders: [a.address, b.address] });
  });

  it("says so when the node cannot answer state at the block, and refuses a block before the pool existed or after the latest", async () => {
    const grant = await grantApprovedBy(a);
    const pruned = await gotongRejectionOf(checkPoolGrantApprovals(chainWith({ balances: {}, totalSupply: 1n, unanswerable: true }), deployment, grant));
    expect(pruned.code).toBe("chain_error");
    expect(pruned.message).toBe("The node cannot answer the chain's state at block 12 (latest 20), so the pool's shares at that block cannot be counted.");
    expect((await gotongRejectionOf(checkPoolGrantApprovals(chainWith({ balances: {}, totalSupply: 1n, noCode: true }), deployment, grant))).message).toContain("did not exist yet at block 12");
    expect((await gotongRejectionOf(checkPoolGrantApprovals(chainWith({ balances: {}, totalSupply: 1n, latest: 11n }), deployment, grant))).message).toContain("after the chain's latest block (11)");
  });

  it("refuses a pool that is another dataset's, or a grant naming another pool", async () => {
    const grant = await grantApprovedBy(a);
    expect((await gotongRejectionOf(checkPoolGrantApprovals(chainWith({ balances: {}, totalSupply: 1n, poolDataset: 4n }), deployment, grant))).message).toContain("is the pool of dataset #4");
    const other = getAddress("0x0000000000000000000000000000000000000001");
    const error = await gotongRejectionOf(checkPoolGrantApprovals(chainWith({ balances: {}, totalSupply: 1n }), deployment, { ...grant, pool: other }));
    expect(error.code).toBe("dataset_not_owner");
    expect(error.message).toContain(`names pool ${other}`);
  });
});
