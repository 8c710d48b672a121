import type { Address, PublicClient } from "viem";
import { ModelRegistryArtifact, PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";
import { readVoucherRedemptions } from "./readVoucherRedemptions.ts";

/** The royalties of one model an account owns or owned. Amounts in token base units. */
export type ModelRoyalties = {
  modelId: bigint;
  name: string;
  /** The royalty new channels open with now (channels already open keep theirs). */
  royaltyBps: number;
  owner: Address;
  /** Whether the account owns the token now (and so alone can withdraw `withdrawable`). */
  ownedNow: boolean;
  /** Every royalty the model accrued, under any owner. */
  accrued: bigint;
  /** Accrued while this account held the token. */
  accruedWhileYouOwned: bigint;
  /** Accrued before this account's current (or last) holding began, under previous owners. */
  accruedBeforeYou: bigint;
  /** What of `accruedBeforeYou` was still unwithdrawn when the token reached this account: it travelled with the token. */
  cameWithToken: bigint;
  /** Withdrawn by this account (`ModelEarningsWithdrawn` with it as owner). */
  withdrawnByYou: bigint;
  /** Unwithdrawn now (`PaymentChannels.modelEarnings`); this account's to withdraw when `ownedNow`. */
  withdrawable: bigint;
};

/** An event's place in the chain, to order transfers, royalties and withdrawals. */
type Place = { blockNumber: bigint; logIndex: number };
const before = (a: Place, b: Place) => a.blockNumber < b.blockNumber || (a.blockNumber === b.blockNumber && a.logIndex < b.logIndex);

/**
 * Reads the royalties of every model `account` owns or has owned. Royalties accrue to the model id,
 * not to an address (PaymentChannels), so unwithdrawn royalties travel with the token: this splits
 * each model's history by ownership, from the registry's ERC-721 `Transfer` events, into what
 * accrued before the account held it (and how much of that came with the token), what accrued
 * while it held it, and what it withdrew.
 *
 * @example const models = await readModelRoyalties(client, deployment, "0x…");
 */
export async function readModelRoyalties(client: PublicClient, deployment: Deployment, account: Address): Promise<ModelRoyalties[]> {
  const registry = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  const channels = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const range = { fromBlock: BigInt(deployment.startBlock ?? 0), toBlock: "latest" } as const;
  const me = account.toLowerCase();
  try {
    const received = await client.getContractEvents({ ...registry, eventName: "Transfer", args: { to: account }, ...range });
    const modelIds = [...new Set(received.map((log) => log.args.tokenId!))].sort((a, b) => (a < b ? -1 : 1));
    return await Promise.all(
      modelIds.map(async (modelId): Promise<ModelRoyalties> => {
        const [entry, owner, withdrawable, transfers, withdrawals, redemptions] = await Promise.all([
          client.readContract({ ...registry, functionName: "getModel", args: [modelId] }),
          client.readContract({ ...registry, functionName: "ownerOf", args: [modelId] }),
          client.readContract({ ...channels, functionName: "modelEarnings", args: [modelId] }),
          client.getContractEvents({ ...registry, eventName: "Transfer", args: { tokenId: modelId }, ...range }),
          client.getContractEvents({ ...channels, eventName: "ModelEarningsWithdrawn", args: { modelId }, ...range }),
          readVoucherRedemptions(client, deployment, { modelId }),
        ]);
        // The account's holding periods, each from a transfer to it until the next transfer away.
        const periods: { from: Place; until: Place | undefined }[] = [];
        for (const t of transfers) {
          if (t.args.to!.toLowerCase() === me) periods.push({ from: t, until: undefined });
          else if (t.args.from!.toLowerCase() === me && periods.length > 0) periods[periods.length - 1]!.until ??= t;
        }
        const held = (p: Place) => periods.some((h) => !before(p, h.from) && (h.until === undefined || before(p, h.until)));
        const start = periods[periods.length - 1]!.from;
        let accrued = 0n;
        let accruedWhileYouOwned = 0n;
        let accruedBeforeYou = 0n;
        for (const r of redemptions) {
          accrued += r.royalty;
          if (held(r)) accruedWhileYouOwned += r.royalty;
          if (before(r, start) && !held(r)) accruedBeforeYou += r.royalty;
        }
        let withdrawnBeforeStart = 0n;
        let withdrawnByYou = 0n;
        for (const w of withdrawals) {
          if (before(w, start)) withdrawnBeforeStart += w.args.amount!;
          if (w.args.owner!.toLowerCase() === me) withdrawnByYou += w.args.amount!;
        }
        // What the token held, unwithdrawn, at the moment this account's current holding began.
        const accruedBeforeStart = redemptions.filter((r) => before(r, start)).reduce((sum, r) => sum + r.royalty, 0n);
        return {
          modelId,
          name: entry.name,
          royaltyBps: entry.royaltyBps,
          owner,
          ownedNow: owner.toLowerCase() === me,
          accrued,
          accruedWhileYouOwned,
          accruedBeforeYou,
          cameWithToken: accruedBeforeStart - withdrawnBeforeStart,
          withdrawnByYou,
          withdrawable,
        };
      }),
    );
  } catch (error) {
    throw toChainError(error, "reading model royalties");
  }
}
