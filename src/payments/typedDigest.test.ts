import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { bytesToHex, hashTypedData, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { voucherDigest, receiptDigest, domainSeparator } from "./typedDigest.ts";
import { paymentDomain, voucherTypes, signVoucher } from "../protocol/voucher.ts";
import { receiptTypes } from "../protocol/receipt.ts";
import { createSignatureChecker } from "./createSignatureChecker.ts";

const domain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const };
const eip712Domain = paymentDomain(domain);
const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b) as Hex);
const uint = (bits: number) => fc.bigInt({ min: 0n, max: 2n ** BigInt(bits) - 1n });

describe("direct EIP-712 digests", () => {
  const separator = domainSeparator(domain);

  it("equal viem's hashTypedData for any voucher", () => {
    fc.assert(
      fc.property(hex32, uint(64), uint(256), (channelId, epoch, cumulativeAmount) => {
        const expected = hashTypedData({ domain: eip712Domain, types: voucherTypes, primaryType: "Voucher", message: { channelId, epoch, cumulativeAmount } });
        expect(bytesToHex(voucherDigest(separator, { channelId, epoch, cumulativeAmount }))).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("equal viem's hashTypedData for any receipt", () => {
    fc.assert(
      fc.property(hex32, hex32, hex32, uint(64), uint(64), uint(256), uint(256), hex32, hex32, (requestId, channelId, weightsHash, inputTokens, outputTokens, cost, cumulativeOwed, requestHash, responseHash) => {
        const message = { requestId, channelId, weightsHash, inputTokens, outputTokens, cost, cumulativeOwed, requestHash, responseHash };
        const expected = hashTypedData({ domain: eip712Domain, types: receiptTypes, primaryType: "Receipt", message });
        expect(bytesToHex(receiptDigest(separator, message))).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe("createSignatureChecker", () => {
  const separator = domainSeparator(domain);
  const account = privateKeyToAccount(generatePrivateKey());
  const voucher = { channelId: `0x${"ab".repeat(32)}` as Hex, epoch: 0n, cumulativeAmount: 12345n };

  it("accepts the signer's voucher signature, first and later (cached key)", async () => {
    const checker = createSignatureChecker();
    const { signature } = await signVoucher(account, domain, voucher);
    const digest = voucherDigest(separator, voucher);
    expect(checker.isSignedBy(digest, signature, account.address)).toBe(true);
    expect(checker.isSignedBy(digest, signature, account.address)).toBe(true);
  });

  it("refuses another signer, another message, garbage, a flipped v and a high-s twin", async () => {
    const checker = createSignatureChecker();
    const { signature } = await signVoucher(account, domain, voucher);
    const digest = voucherDigest(separator, voucher);
    const other = privateKeyToAccount(generatePrivateKey()).address;
    expect(checker.isSignedBy(digest, signature, other)).toBe(false);
    expect(checker.isSignedBy(voucherDigest(separator, { ...voucher, cumulativeAmount: 12346n }), signature, account.address)).toBe(false);
    expect(checker.isSignedBy(digest, "0x1234", account.address)).toBe(false);
    expect(checker.isSignedBy(digest, `0x${"00".repeat(65)}`, account.address)).toBe(false);
    const v = parseInt(signature.slice(130), 16);
    const flipped = (signature.slice(0, 130) + (v === 27 ? "1c" : "1b")) as Hex;
    expect(checker.isSignedBy(digest, flipped, account.address)).toBe(false);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    const highS = (signature.slice(0, 66) + (n - s).toString(16).padStart(64, "0") + (v === 27 ? "1c" : "1b")) as Hex;
    expect(checker.isSignedBy(digest, highS, account.address)).toBe(false);
  });
});

describe("createPaymentSigner", () => {
  it("signs vouchers and receipts exactly as viem's signTypedData does", async () => {
    const { createPaymentSigner } = await import("./createPaymentSigner.ts");
    const { signReceipt } = await import("../protocol/receipt.ts");
    const key = generatePrivateKey();
    const account = privateKeyToAccount(key);
    const signer = createPaymentSigner(key, domain);
    for (let i = 0; i < 20; i++) {
      const voucher = { channelId: `0x${i.toString(16).padStart(64, "0")}` as Hex, epoch: BigInt(i), cumulativeAmount: BigInt(i) * 7919n };
      expect(signer.signVoucher(voucher).signature).toBe((await signVoucher(account, domain, voucher)).signature);
      const receipt = { requestId: voucher.channelId, channelId: voucher.channelId, weightsHash: voucher.channelId, inputTokens: 3n, outputTokens: BigInt(i), cost: 99n, cumulativeOwed: 1000n, requestHash: voucher.channelId, responseHash: voucher.channelId };
      expect(signer.signReceipt(receipt).signature).toBe((await signReceipt(account, domain, receipt)).signature);
    }
  });
});
