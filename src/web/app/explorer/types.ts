/** A model as `/gotong/web/explorer` lists it (amounts: decimal strings of base units). */
export type Model = {
  modelId: string; name: string; owner: string; weightsHash: string; license?: string; royaltyBps: number; providers: number;
  requests: number; inputTokens: string; outputTokens: string; paid: string; royalties: string; unwithdrawnRoyalties: string; withdrawnRoyalties: string;
};

/** A provider as `/gotong/web/explorer` lists it. */
export type Provider = {
  address: string; endpoint: string; active: boolean; stake: string; offers: { model: string; pricePerMillionInput: string; pricePerMillionOutput: string }[];
  latencyMs?: number; receiptsAccepted: number; excluded: boolean;
  /** Its verification record on-chain: challenges passed and failed, stake slashed (base units), suspended for fraud. */
  challengesPassed: string; challengesFailed: string; slashed: string; suspended: boolean;
  earned: string; unwithdrawnEarnings: string; withdrawnEarnings: string; payout: "held" | "direct";
};

/** One epoch of a payment channel as `/gotong/web/channels` lists it. */
export type Channel = {
  channelId: string; provider: string; model: string; epoch: string; state: "open" | "closing" | "withdrawable" | "withdrawn";
  deposit: string; redeemed: string; spent: string; unspent: string; refunded: string | null; closesAt: number; withdrawnAt: number;
};

/** Whether two addresses are the same (any letter case). */
export function sameAddress(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}
