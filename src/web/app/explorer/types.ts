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

/** A model in a lineage tree as `/gotong/web/lineage` sends it (`gotong model lineage --json`; amounts: decimal strings of base units). */
export type LineageNode = {
  modelId: string; name: string; owner: string; royaltyBps: number; depth: number;
  /** Royalties that stayed with it after its parents' and datasets' shares flowed, and those not flowed yet. */
  kept: string; pending: string;
  /** Each parent with the share of this model's royalty it is paid and what it earned from this model. */
  parents: { relation: string; shareBps: number; earnedFromChild: string; pendingFromChild: string; model: LineageNode }[];
  datasets: { datasetId: string; name: string; owner: string; shareBps: number; earnedFromChild: string; pendingFromChild: string }[];
};

/** A model's lineage as `/gotong/web/lineage?model=ID` answers. */
export type Lineage = {
  lineage: LineageNode;
  /** Models registered naming it as a parent, with what each paid it (flowed) and still owes it (pending). */
  derivatives: { modelId: string; name: string; owner: string; relation: string; shareBps: number; paidToParent: string; pendingToParent: string }[];
  maxDepth: number;
};
