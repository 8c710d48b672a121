import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContractFunctionExecutionError, ContractFunctionRevertedError, decodeFunctionData, encodeFunctionResult, parseAbi, type Address, type Hex, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { isGotongError } from "../common/errors.ts";
import { encodeVoucherHeader, hashVoucher, signVoucher } from "../protocol/voucher.ts";
import type { OnchainChannel } from "../payments/readChannel.ts";
import { createPaymentGuard } from "../provider/createPaymentGuard.ts";
import { createProviderStore } from "../provider/createProviderStore.ts";

const erc1271 = parseAbi(["function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)"]);
const rid = () => `0x${randomBytes(32).toString("hex")}` as Hex;

const domain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000000c0" as Address };
const provider = "0x00000000000000000000000000000000000000a1" as Address;
const wallet = "0x00000000000000000000000000000000000000b2" as Address;
const channelId = `0x${"11".repeat(32)}` as Hex;
const agentKey = privateKeyToAccount(generatePrivateKey());

/** A stub chain: the wallet at `wallet` has code and answers `isValidSignature` as `answer` says. */
function stubClient(answer: (digest: Hex, signature: Hex, from: Address | undefined) => Hex | Error) {
  const calls: { method: string; from?: Address; gas?: bigint }[] = [];
  const client = {
    getCode: async ({ address }: { address: Address }) => {
      calls.push({ method: "getCode" });
      return address === wallet ? ("0x6080" as Hex) : undefined;
    },
    call: async (args: { to: Address; data: Hex; account?: Address; gas?: bigint }) => {
      const { functionName, args: [digest, signature] } = decodeFunctionData({ abi: erc1271, data: args.data });
      calls.push({ method: functionName, from: args.account, gas: args.gas });
      const result = answer(digest, signature, args.account);
      if (result instanceof Error) throw result;
      return { data: encodeFunctionResult({ abi: erc1271, functionName: "isValidSignature", result }) };
    },
  };
  return { client: client as unknown as PublicClient, calls };
}

const channel = (sender: Address): OnchainChannel => ({ sender, provider, modelId: 1n, deposit: 1_000_000n, redeemed: 0n, royaltyBps: 0, feeBps: 0, epoch: 0n, closesAt: 0n });

describe("the provider's payment guard with an agent wallet as the channel sender", () => {
  let dir: string;
  let store: ReturnType<typeof createProviderStore>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "gotong-guard-"));
    store = createProviderStore(join(dir, "provider.db"));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const voucher = (amount: bigint) => signVoucher(agentKey, domain, { channelId, epoch: 0n, cumulativeAmount: amount });

  it("accepts a voucher the wallet vouches for through ERC-1271, asked as PaymentChannels, and asks again before serving each request", async () => {
    const v = await voucher(0n);
    const digest = hashVoucher(domain, v);
    const { client, calls } = stubClient((d, signature) => (d === digest && signature === v.signature ? "0x1626ba7e" : "0xffffffff"));
    const guard = createPaymentGuard({ provider, domain, store, client, readChannel: async () => channel(wallet) });
    // Refused for the deposit (after the signature check, so the voucher is not stored), then accepted.
    // The wallet is asked each time a request would be served on its credit: its owner may have
    // revoked the key in between. Only the contract check (getCode) is remembered.
    const short = await guard.authorize(encodeVoucherHeader(v), 1n, 10n ** 12n, rid()).then(() => undefined, (e: unknown) => e);
    expect(isGotongError(short, "insufficient_deposit")).toBe(true);
    (await guard.authorize(encodeVoucherHeader(v), 1n, 1000n, rid())).release();
    // Asked from PaymentChannels' address, with no more gas than PaymentChannels gives it at redeem.
    const ask = { method: "isValidSignature", from: domain.verifyingContract, gas: 100_000n };
    expect(calls).toEqual([{ method: "getCode" }, ask, ask]);
  });

  it("refuses when the wallet says no (revoked key, paused wallet), and asks again next time", async () => {
    let valid = false;
    const { client, calls } = stubClient(() => (valid ? "0x1626ba7e" : "0xffffffff"));
    const guard = createPaymentGuard({ provider, domain, store, client, readChannel: async () => channel(wallet) });
    const header = encodeVoucherHeader(await voucher(0n));
    const error = await guard.authorize(header, 1n, 1000n, rid()).then(() => undefined, (e: unknown) => e);
    expect(isGotongError(error, "voucher_signature_invalid")).toBe(true);
    valid = true; // unpaused
    (await guard.authorize(header, 1n, 1000n, rid())).release();
    expect(calls.filter((c) => c.method === "isValidSignature")).toHaveLength(2);
  });

  it("treats a reverting wallet as a refusal, and an unreachable chain as retryable", async () => {
    const revert = new ContractFunctionExecutionError(new ContractFunctionRevertedError({ abi: [], functionName: "isValidSignature" }), { abi: [], functionName: "isValidSignature" });
    const reverting = createPaymentGuard({ provider, domain, store, client: stubClient(() => revert).client, readChannel: async () => channel(wallet) });
    const header = encodeVoucherHeader(await voucher(0n));
    expect(isGotongError(await reverting.authorize(header, 1n, 1000n, rid()).then(() => undefined, (e: unknown) => e), "voucher_signature_invalid")).toBe(true);
    const down = createPaymentGuard({ provider, domain, store, client: stubClient(() => new Error("fetch failed")).client, readChannel: async () => channel(wallet) });
    const error = await down.authorize(header, 1n, 1000n, rid()).then(() => undefined, (e: unknown) => e);
    expect(isGotongError(error, "chain_unreachable") && error.retryable && error.status === 503).toBe(true);
  });

  it("keeps the fast path for accounts: no chain call for a voucher signed by the sender's own key", async () => {
    const { client, calls } = stubClient(() => "0xffffffff");
    const guard = createPaymentGuard({ provider, domain, store, client, readChannel: async () => channel(agentKey.address) });
    (await guard.authorize(encodeVoucherHeader(await voucher(0n)), 1n, 1000n, rid())).release();
    expect(calls).toEqual([]);
  });

  it("refuses a contract-looking sender when no client is given (the behaviour before agent wallets)", async () => {
    const guard = createPaymentGuard({ provider, domain, store, readChannel: async () => channel(wallet) });
    const error = await guard.authorize(encodeVoucherHeader(await voucher(0n)), 1n, 1000n, rid()).then(() => undefined, (e: unknown) => e);
    expect(isGotongError(error, "voucher_signature_invalid")).toBe(true);
  });
});
