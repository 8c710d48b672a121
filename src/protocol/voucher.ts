import { type Address, type Hex, type LocalAccount, hashTypedData, recoverTypedDataAddress } from "viem";

/** A promise to pay: the new cumulative amount owed on one channel in one epoch, signed by its sender. */
export type Voucher = { channelId: Hex; epoch: bigint; cumulativeAmount: bigint };
export type SignedVoucher = Voucher & { signature: Hex };

/** Where a voucher is valid: one chain and one PaymentChannels deployment (EIP-712 domain). */
export type VoucherDomain = { chainId: number; verifyingContract: Address };

/**
 * The EIP-712 definition of a voucher, the only copy in TypeScript: signing, recovery and the fast
 * digests all read it, and a test asserts its type hash equals `PaymentChannels.VOUCHER_TYPEHASH`.
 */
export const voucherTypes = {
  Voucher: [
    { name: "channelId", type: "bytes32" },
    { name: "epoch", type: "uint64" },
    { name: "cumulativeAmount", type: "uint256" },
  ],
} as const;

/** The full EIP-712 domain of a PaymentChannels deployment; vouchers and receipts share it. */
export function paymentDomain(domain: VoucherDomain) {
  return { name: "Gotong PaymentChannels", version: "1", chainId: domain.chainId, verifyingContract: domain.verifyingContract } as const;
}

/** The EIP-712 digest of a voucher, as `PaymentChannels.hashVoucher` computes it. */
export function hashVoucher(domain: VoucherDomain, voucher: Voucher): Hex {
  return hashTypedData({ domain: paymentDomain(domain), types: voucherTypes, primaryType: "Voucher", message: voucher });
}

/** Signs a voucher with the channel sender's key. */
export async function signVoucher(account: LocalAccount, domain: VoucherDomain, voucher: Voucher): Promise<SignedVoucher> {
  const signature = await account.signTypedData({ domain: paymentDomain(domain), types: voucherTypes, primaryType: "Voucher", message: voucher });
  return { ...voucher, signature };
}

/** Recovers the address that signed a voucher; throws on a malformed signature. */
export async function recoverVoucherSigner(domain: VoucherDomain, voucher: SignedVoucher): Promise<Address> {
  return recoverTypedDataAddress({
    domain: paymentDomain(domain),
    types: voucherTypes,
    primaryType: "Voucher",
    message: { channelId: voucher.channelId, epoch: voucher.epoch, cumulativeAmount: voucher.cumulativeAmount },
    signature: voucher.signature,
  });
}

/** Encodes a signed voucher for the `x-gotong-voucher` header: `channelId:epoch:amount:signature`. */
export function encodeVoucherHeader(voucher: SignedVoucher): string {
  return `${voucher.channelId}:${voucher.epoch}:${voucher.cumulativeAmount}:${voucher.signature}`;
}

/** Parses an `x-gotong-voucher` header; returns undefined when it is malformed. */
export function decodeVoucherHeader(header: string): SignedVoucher | undefined {
  const parts = header.trim().split(":");
  if (parts.length !== 4) return undefined;
  const [channelId, epoch, amount, signature] = parts as [string, string, string, string];
  if (!/^0x[0-9a-fA-F]{64}$/.test(channelId)) return undefined;
  if (!/^\d{1,20}$/.test(epoch) || !/^\d{1,78}$/.test(amount)) return undefined;
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return undefined;
  const value = { channelId: channelId.toLowerCase() as Hex, epoch: BigInt(epoch), cumulativeAmount: BigInt(amount), signature: signature as Hex };
  if (value.epoch >= 2n ** 64n || value.cumulativeAmount >= 2n ** 256n) return undefined;
  return value;
}
