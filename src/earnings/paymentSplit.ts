/**
 * How PaymentChannels split paid amounts: every redeemed base unit went to exactly one of the
 * model's royalty, the protocol fee (the funding pool) or the provider, so `paid = royalty + fee +
 * providerShare` always holds (the contract gives the provider the rounding remainder).
 */
export type PaymentSplit = { paid: bigint; royalty: bigint; fee: bigint; providerShare: bigint };

/** A split of nothing, to add redemptions to. */
export function emptySplit(): PaymentSplit {
  return { paid: 0n, royalty: 0n, fee: 0n, providerShare: 0n };
}

/** Adds one redemption (a `VoucherRedeemed`'s amounts) into `total`, in place, and returns it. */
export function addToSplit(total: PaymentSplit, redemption: { amount: bigint; royalty: bigint; fee: bigint; providerShare: bigint }): PaymentSplit {
  total.paid += redemption.amount;
  total.royalty += redemption.royalty;
  total.fee += redemption.fee;
  total.providerShare += redemption.providerShare;
  return total;
}

/** The split with every amount as a decimal string of base units, for JSON. */
export function splitToJson(split: PaymentSplit): Record<keyof PaymentSplit, string> {
  return { paid: split.paid.toString(), royalty: split.royalty.toString(), fee: split.fee.toString(), providerShare: split.providerShare.toString() };
}
