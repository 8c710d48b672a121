import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { isGotongError } from "../common/errors.ts";
import type { OnchainChannel } from "../payments/readChannel.ts";
import { encodeVoucherHeader, signVoucher } from "../protocol/voucher.ts";
import { createPaymentGuard } from "./createPaymentGuard.ts";
import { createProviderStore } from "./createProviderStore.ts";

const domain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000000c0" as Address };
const provider = "0x00000000000000000000000000000000000000a1" as Address;
const channelId = `0x${"22".repeat(32)}` as Hex;
const sender = privateKeyToAccount(generatePrivateKey());
const rid = () => `0x${randomBytes(32).toString("hex")}` as Hex;

describe("the payment guard's cached view of a channel", () => {
  let dir: string;
  let store: ReturnType<typeof createProviderStore>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "gotong-guard-cache-"));
    store = createProviderStore(join(dir, "provider.db"));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads the chain again before refusing for a short deposit that a fresh deposit has replaced", async () => {
    // On chain: first the withdrawn channel (a new epoch, nothing deposited), then the sender's fresh deposit.
    let onchain: OnchainChannel = { sender: sender.address, provider, modelId: 1n, deposit: 0n, redeemed: 0n, royaltyBps: 0, feeBps: 0, epoch: 1n, closesAt: 0n };
    let reads = 0;
    const guard = createPaymentGuard({ provider, domain, store, readChannel: async () => (reads++, onchain) });
    const header = encodeVoucherHeader(await signVoucher(sender, domain, { channelId, epoch: 1n, cumulativeAmount: 0n }));
    const refused = await guard.authorize(header, 1n, 100n, rid()).then(() => undefined, (e: unknown) => e);
    expect(isGotongError(refused, "insufficient_deposit")).toBe(true);
    onchain = { ...onchain, deposit: 1_000n };
    // Within the cache's lifetime, the same voucher: served, because the refusal is checked against the chain.
    (await guard.authorize(header, 1n, 100n, rid())).release();
  });
});
