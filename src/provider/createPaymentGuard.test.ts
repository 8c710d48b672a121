import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { zeroAddress, type Address, type Hex } from "viem";
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

describe("the payment guard's refusals", () => {
  let dir: string;
  let store: ReturnType<typeof createProviderStore>;
  let onchain: OnchainChannel;
  let reads: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "gotong-guard-refusals-"));
    store = createProviderStore(join(dir, "provider.db"));
    onchain = { sender: sender.address, provider, modelId: 1n, deposit: 1_000n, redeemed: 0n, royaltyBps: 0, feeBps: 0, epoch: 0n, closesAt: 0n };
    reads = 0;
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const guardOf = (options: { maxInFlightPerChannel?: number; now?: () => number } = {}) =>
    createPaymentGuard({ provider, domain, store, readChannel: async () => (reads++, { ...onchain }), ...options });
  const header = async (cumulativeAmount: bigint, by = sender, on = domain, epoch = 0n) => encodeVoucherHeader(await signVoucher(by, on, { channelId, epoch, cumulativeAmount }));
  /** The refusal `promise` ends in, or a failure naming what happened instead. */
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error("expected a refusal, but the request was authorised");
      },
      (error: unknown) => {
        if (isGotongError(error)) return error;
        throw error;
      },
    );
  /** Records a served request's receipt as the provider server does, so the channel owes `owed`. */
  const serve = (owed: bigint) =>
    store.recordServed(0n, { requestId: rid(), channelId, weightsHash: rid(), inputTokens: 1n, outputTokens: 1n, cost: owed, cumulativeOwed: owed, requestHash: rid(), responseHash: rid(), signature: `0x${"00".repeat(65)}` });

  it("refuses a request without a voucher (402) and with a malformed one (400)", async () => {
    const guard = guardOf();
    expect(await refusal(guard.authorize(undefined, 1n, 10n, rid()))).toMatchObject({ code: "voucher_missing", status: 402 });
    expect(await refusal(guard.authorize("0x12:0:5:0x34", 1n, 10n, rid()))).toMatchObject({ code: "voucher_malformed", status: 400 });
  });

  it("refuses a channel that does not exist, pays another provider, or is for another model", async () => {
    const guard = guardOf();
    const h = await header(0n);
    onchain = { ...onchain, sender: zeroAddress, deposit: 0n };
    expect(await refusal(guard.authorize(h, 1n, 10n, rid()))).toMatchObject({ code: "channel_not_found", status: 402 });
    guard.invalidate(channelId);
    const other = "0x00000000000000000000000000000000000000a2" as Address;
    onchain = { ...onchain, sender: sender.address, deposit: 1_000n, provider: other };
    const wrongProvider = await refusal(guard.authorize(h, 1n, 10n, rid()));
    expect(wrongProvider).toMatchObject({ code: "channel_wrong_provider", status: 402 });
    expect(wrongProvider.message).toContain(other);
    guard.invalidate(channelId);
    onchain = { ...onchain, provider, modelId: 2n };
    const wrongModel = await refusal(guard.authorize(h, 1n, 10n, rid()));
    expect(wrongModel).toMatchObject({ code: "channel_wrong_model", status: 402, message: `Channel ${channelId} is for model 2, not model 1` });
  });

  it("refuses a voucher for another epoch, one not signed by the sender, one for another contract, and one above the deposit", async () => {
    const guard = guardOf();
    expect(await refusal(guard.authorize(await header(0n, sender, domain, 1n), 1n, 10n, rid()))).toMatchObject({ code: "voucher_wrong_epoch", status: 402 });
    expect(await refusal(guard.authorize(await header(0n, privateKeyToAccount(generatePrivateKey())), 1n, 10n, rid()))).toMatchObject({ code: "voucher_signature_invalid", status: 401 });
    const elsewhere = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000000c1" as Address };
    expect(await refusal(guard.authorize(await header(0n, sender, elsewhere), 1n, 10n, rid()))).toMatchObject({ code: "voucher_signature_invalid", status: 401 });
    const above = await refusal(guard.authorize(await header(1_001n), 1n, 10n, rid()));
    expect(above).toMatchObject({ code: "voucher_exceeds_deposit", status: 402, message: "The voucher pays 1001, above the channel's deposit of 1000" });
    // None of these refusals stored anything.
    expect(store.getChannel(channelId, 0n).voucher).toBeUndefined();
  });

  it("refuses a closing channel, after reading the chain again rather than trusting its cache", async () => {
    const guard = guardOf();
    (await guard.authorize(await header(0n), 1n, 10n, rid())).release();
    expect(reads).toBe(1);
    onchain = { ...onchain, closesAt: 1_900_000_000n };
    guard.invalidate(channelId);
    const id = rid();
    const error = await refusal(guard.authorize(await header(0n), 1n, 10n, id));
    expect(error).toMatchObject({ code: "channel_closing", status: 402, message: `Channel ${channelId} is closing` });
    expect(reads).toBe(3); // read once for the request, then once more before refusing on that word
    expect(store.isRunning(id)).toBe(false); // the refused request's id is given back
  });

  it("refuses a voucher below what is owed for requests already served", async () => {
    const guard = guardOf();
    serve(250n);
    const error = await refusal(guard.authorize(await header(249n), 1n, 10n, rid()));
    expect(error).toMatchObject({ code: "voucher_below_owed", status: 402, message: "The voucher pays 249 but 250 is owed for requests already served on this channel" });
    (await guard.authorize(await header(250n), 1n, 10n, rid())).release();
  });

  it("serves one unpaid request per channel at a time: a second one on the same voucher is 429 channel_busy", async () => {
    const guard = guardOf();
    const v0 = await header(0n);
    const first = await guard.authorize(v0, 1n, 10n, rid());
    const id = rid();
    expect(await refusal(guard.authorize(v0, 1n, 10n, id))).toMatchObject({ code: "channel_busy", status: 429, retryable: true });
    expect(store.isRunning(id)).toBe(false);
    // A voucher that pays for the request in flight lets the next one in.
    (await guard.authorize(await header(10n), 1n, 10n, rid())).release();
    first.release();
  });

  it("refuses a flood fast with 429 too_many_requests beyond maxInFlightPerChannel, and admits again once one ends", async () => {
    const guard = guardOf({ maxInFlightPerChannel: 2 });
    const v = await header(1_000n);
    const held = [await guard.authorize(v, 1n, 100n, rid()), await guard.authorize(v, 1n, 100n, rid())];
    const id = rid();
    const flood = await refusal(guard.authorize(v, 1n, 100n, id));
    expect(flood).toMatchObject({ code: "too_many_requests", status: 429, retryable: true, message: `Channel ${channelId} already has 2 requests in flight` });
    expect(store.isRunning(id)).toBe(false);
    held[0]!.release();
    held[0]!.release(); // releasing twice frees one place, not two
    const third = await guard.authorize(v, 1n, 100n, rid());
    expect(await refusal(guard.authorize(v, 1n, 100n, rid()))).toMatchObject({ code: "too_many_requests" });
    third.release();
    held[1]!.release();
  });

  it("reserves each request's worst case: the deposit covers what is owed plus everything in flight, to the base unit", async () => {
    const guard = guardOf();
    serve(100n);
    const v = await header(1_000n);
    const a = await guard.authorize(v, 1n, 300n, rid());
    const b = await guard.authorize(v, 1n, 300n, rid());
    const short = await refusal(guard.authorize(v, 1n, 301n, rid()));
    expect(short).toMatchObject({
      code: "insufficient_deposit",
      status: 402,
      message: "The channel's deposit of 1000 does not cover this request: 700 is committed and the request may cost up to 301",
    });
    (await guard.authorize(v, 1n, 300n, rid())).release(); // exactly the deposit: served
    a.release();
    (await guard.authorize(v, 1n, 600n, rid())).release(); // a's reservation is back
    b.release();
  });

  it("refuses a replayed request id with 409, whatever else the request carries", async () => {
    const guard = guardOf();
    const id = rid();
    (await guard.authorize(await header(0n), 1n, 10n, id)).release();
    expect(await refusal(guard.authorize(await header(0n), 1n, 10n, id))).toMatchObject({ code: "request_id_reused", status: 409 });
  });

  it("refuses a request whose voucher cannot be committed to disk, and leaves no reservation or request id behind", async () => {
    const guard = guardOf();
    // Another connection makes every write of a voucher fail, as a full or broken disk would.
    const db = new Database(join(dir, "provider.db"));
    db.exec("CREATE TRIGGER fail_voucher BEFORE UPDATE OF voucher_amount ON channels BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;");
    const id = rid();
    const error = await refusal(guard.authorize(await header(0n), 1n, 1_000n, id));
    expect(error).toMatchObject({ code: "storage_failed", status: 503, retryable: true });
    expect(store.isRunning(id)).toBe(false);
    expect(store.getChannel(channelId, 0n).voucher).toBeUndefined();
    // The store's turn commits first: its connection holds the write lock until then.
    await store.durable();
    db.exec("DROP TRIGGER fail_voucher");
    db.close();
    // The refused request reserved nothing: the whole deposit is there for the next one.
    (await guard.authorize(await header(0n), 1n, 1_000n, rid())).release();
  });

  it("settle: refuses a voucher for a channel whose challenge period is over, and one below what is owed", async () => {
    let nowMs = 1_000_000_000;
    const guard = guardOf({ now: () => nowMs });
    serve(40n);
    expect(await refusal(guard.settle(await header(39n)))).toMatchObject({ code: "voucher_below_owed", status: 402 });
    expect(await guard.settle(await header(40n))).toEqual({ owed: 40n, accepted: true });
    onchain = { ...onchain, closesAt: 1_000_100n };
    expect(await guard.settle(await header(40n))).toEqual({ owed: 40n, accepted: false }); // still in its challenge period
    nowMs = 1_000_100_000;
    const closed = await refusal(guard.settle(await header(40n)));
    expect(closed).toMatchObject({ code: "channel_closed", status: 402, message: `Channel ${channelId} closed at 1000100: its challenge period is over` });
  });
});
