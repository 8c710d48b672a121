import { pathToFileURL } from "node:url";
import { isAddressEqual, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createPaymentVerifier } from "../src/payments/createPaymentVerifier.ts";
import { recoverVoucherSigner, signVoucher, type SignedVoucher } from "../src/protocol/voucher.ts";
import { median } from "./median.ts";

/**
 * Voucher verification on the provider's hot path: viem's generic typed-data recovery (the baseline)
 * against Gotong's verifier (direct EIP-712 digest + libsecp256k1 recovery, signer key cached).
 */
export async function benchVoucherVerify(iterations = 400) {
  const domain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const };
  const account = privateKeyToAccount(generatePrivateKey());
  const vouchers: SignedVoucher[] = [];
  for (let i = 0; i < 50; i++) {
    vouchers.push(await signVoucher(account, domain, { channelId: `0x${(i + 1).toString(16).padStart(64, "0")}` as Hex, epoch: 0n, cumulativeAmount: BigInt(1000 + i) }));
  }
  const verifier = createPaymentVerifier(domain);
  const time = async (fn: (v: SignedVoucher) => Promise<boolean> | boolean) => {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) if (!(await fn(vouchers[i % vouchers.length]!))) throw new Error("verification failed");
    return (performance.now() - start) / iterations;
  };
  const viem = async (v: SignedVoucher) => isAddressEqual(await recoverVoucherSigner(domain, v), account.address);
  const ours = (v: SignedVoucher) => verifier.voucherSignedBy(v, account.address);
  await time(viem);
  await time(ours);
  const samples = { viem: [] as number[], ours: [] as number[] };
  for (let round = 0; round < 5; round++) {
    samples.viem.push(await time(viem));
    samples.ours.push(await time(ours));
  }
  const viemMs = median(samples.viem);
  const oursMs = median(samples.ours);
  return { viemRecoverMs: viemMs, gotongVerifyMs: oursMs, speedup: viemMs / oursMs, goal: "at least 5x faster than viem's typed-data recovery" };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchVoucherVerify(), null, 2));
}
