import type { Address } from "viem";
import { createSignatureChecker } from "./createSignatureChecker.ts";
import type { SignedReceipt } from "../protocol/receipt.ts";
import { domainSeparator, receiptDigest, voucherDigest } from "./typedDigest.ts";
import type { SignedVoucher, VoucherDomain } from "../protocol/voucher.ts";

/** Checks voucher and receipt signatures for one PaymentChannels deployment, on the hot path. */
export function createPaymentVerifier(domain: VoucherDomain) {
  const separator = domainSeparator(domain);
  const checker = createSignatureChecker();
  return {
    /** True when `voucher` is signed by `sender` for this chain and contract. */
    voucherSignedBy: (voucher: SignedVoucher, sender: Address) => checker.isSignedBy(voucherDigest(separator, voucher), voucher.signature, sender),
    /** True when `receipt` is signed by `provider` for this chain and contract. */
    receiptSignedBy: (receipt: SignedReceipt, provider: Address) => checker.isSignedBy(receiptDigest(separator, receipt), receipt.signature, provider),
  };
}

export type PaymentVerifier = ReturnType<typeof createPaymentVerifier>;
