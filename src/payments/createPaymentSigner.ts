import * as secp256k1 from "tiny-secp256k1";
import { bytesToHex, hexToBytes, type Hex } from "viem";
import type { Receipt, SignedReceipt } from "../protocol/receipt.ts";
import { domainSeparator, receiptDigest, voucherDigest } from "./typedDigest.ts";
import type { SignedVoucher, Voucher, VoucherDomain } from "../protocol/voucher.ts";

/**
 * Signs vouchers (as a channel sender) and receipts (as a provider) for one deployment with
 * libsecp256k1: deterministic RFC 6979 signatures, byte for byte what viem's `signTypedData` makes
 * (checked in tests), without its generic typed-data encoding on every request.
 */
export function createPaymentSigner(privateKey: Hex, domain: VoucherDomain) {
  const key = hexToBytes(privateKey);
  const separator = domainSeparator(domain);
  const sign = (digest: Uint8Array): Hex => {
    const { signature, recoveryId } = secp256k1.signRecoverable(digest, key);
    const out = new Uint8Array(65);
    out.set(signature, 0);
    out[64] = 27 + recoveryId;
    return bytesToHex(out);
  };
  return {
    signVoucher: (voucher: Voucher): SignedVoucher => ({ ...voucher, signature: sign(voucherDigest(separator, voucher)) }),
    signReceipt: (receipt: Receipt): SignedReceipt => ({ ...receipt, signature: sign(receiptDigest(separator, receipt)) }),
  };
}

export type PaymentSigner = ReturnType<typeof createPaymentSigner>;
