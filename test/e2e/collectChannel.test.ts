import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { erc20Abi, getAddress, isAddressEqual, parseEventLogs, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { readChannel } from "../../src/payments/readChannel.ts";
import { channelIdOf } from "../../src/protocol/channelId.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { advanceTime } from "../helpers/advanceTime.ts";
import { runGotong } from "../helpers/cli.ts";
import { quietLogger, startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import { readCost } from "../helpers/readCost.ts";
import { waitFor } from "../helpers/waitFor.ts";

/**
 * A user gets the rest of a deposit back with the CLI: close, wait out the challenge period, withdraw
 * exactly deposit − spent. Chat keeps working throughout (on a fresh channel to the same provider
 * while the old one closes), the settler sends nothing for a withdrawn channel, and an idle channel
 * is refunded by the gateway itself.
 */
describe("a user closes a channel and withdraws the rest", () => {
  let net: ChatNetwork;
  let cheap: RunningProvider & { key: Hex };
  let dear: RunningProvider & { key: Hex };
  let gateway: RunningGateway & { key: Hex };
  let channelId: Hex;
  /** The channel the pair moves to while `channelId` closes (the next salt). */
  let fresh: Hex;
  let spent = 0n;
  let spentOnFresh = 0n;
  const gotong = (...args: string[]) => runGotong([...args, "--home", net.home.root]);
  const json = async (...args: string[]) => {
    const r = await gotong(...args, "--json");
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const chat = async (g: RunningGateway, prompt: string) => {
    const res = await postChat(g.baseUrl, net.model.name, prompt, { max_tokens: 8 });
    expect(res.status, await res.clone().text()).toBe(200);
    const { cost } = await readCost(res);
    return { provider: res.headers.get("x-gotong-provider"), cost: cost! };
  };
  const onchain = (id: Hex = channelId) => readChannel(net.creator.public, net.devnet.deployment.paymentChannels, id);

  beforeAll(async () => {
    net = await startChatNetwork();
    cheap = await net.provider(net.model.path);
    // A second provider of the same model, dearer: the cheap one stays chosen, on a fresh channel
    // while its old one closes, rather than failing over to the dear one.
    dear = await net.provider(net.model.path, { price: { pricePerMillionInput: 3_000_000n, pricePerMillionOutput: 6_000_000n } });
    gateway = await net.gateway({ offersRefreshMs: 100 });
    writeFileSync(join(net.home.keys, "gateway.key"), gateway.key + "\n", { mode: 0o600 });
  });
  afterAll(() => net?.stop());

  it("closes, saying how long the challenge period lasts and when withdrawing becomes possible", async () => {
    for (const prompt of ["Once upon a time", "A cat", "The sun rose"]) {
      const answer = await chat(gateway, prompt);
      expect(answer.provider).toBe(cheap.address);
      spent += answer.cost;
    }
    const listed = (await json("channel", "list")) as { channels: { channelId: Hex }[] };
    channelId = listed.channels[0]!.channelId;

    const bad = await gotong("channel", "close", "0xdeadbeef");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Your gateway has no channel 0xdeadbeef/);
    const help = await gotong("channel", "close", "--help");
    expect(help.stdout).toMatch(/^gotong channel close ID/);

    // A prefix as `channel list` prints it is enough.
    const closed = (await json("channel", "close", channelId.slice(0, 10))) as { channelId: Hex; challengePeriodSeconds: string; closesAt: string; deposit: string; spent: string; expectedRefund: string; settlementVoucher: string };
    expect(closed.channelId).toBe(channelId);
    expect(closed.challengePeriodSeconds).toBe(String(net.devnet.deployment.challengePeriod));
    const { closesAt, deposit } = await onchain();
    expect(closed.closesAt).toBe(new Date(Number(closesAt) * 1000).toISOString().replace(".000Z", "Z"));
    expect(BigInt(closed.spent)).toBe(spent);
    expect(BigInt(closed.expectedRefund)).toBe(deposit - spent);
    expect(["sent", "not needed"]).toContain(closed.settlementVoucher);

    const twice = await gotong("channel", "close", channelId);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/already closing: withdrawing becomes possible at .* \(chain time, in (59m|1h)/);
    const early = await gotong("channel", "withdraw", channelId);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/still in its challenge period: withdrawing becomes possible at/);
  });

  it("keeps chatting while the channel is closing: the next request is served on a fresh channel to the same provider", async () => {
    // The provider forgets its read of the channel at the ChannelCloseStarted event (polled once a
    // second), refuses the old channel, and the gateway moves to the next salt.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    const answer = await chat(gateway, "Lily went");
    expect(answer.provider).toBe(cheap.address);
    fresh = channelIdOf(privateKeyToAccount(gateway.key).address, cheap.address, net.modelId, 1n);
    expect(gateway.store.getChannel(fresh)?.spent).toBe(answer.cost);
    expect((await onchain(fresh)).closesAt).toBe(0n);
    spentOnFresh += answer.cost;
  });

  it("withdraws exactly deposit − spent after the challenge period, once the provider redeemed", async () => {
    const { deployment } = net.devnet;
    // The provider redeems its last voucher within the challenge period.
    await cheap.redeemer.redeemNow();
    const { deposit, redeemed } = await onchain();
    expect(redeemed).toBe(spent);
    await advanceTime(net.creator.public, deployment.challengePeriod);

    const result = (await json("channel", "withdraw", channelId)) as { hash: Hex; refund: string; deposit: string; redeemed: string; nextEpoch: string };
    expect(BigInt(result.refund)).toBe(deposit - spent);
    expect(result).toMatchObject({ deposit: deposit.toString(), redeemed: spent.toString(), nextEpoch: "1" });
    const receipt = await net.creator.public.getTransactionReceipt({ hash: result.hash });
    const moved = parseEventLogs({ abi: erc20Abi, logs: receipt.logs.filter((l) => isAddressEqual(l.address, deployment.token.address)), eventName: "Transfer" });
    expect(moved.map((t) => [t.args.from, t.args.to, t.args.value])).toEqual([[getAddress(deployment.paymentChannels), privateKeyToAccount(gateway.key).address, deposit - spent]]);

    const again = await gotong("channel", "withdraw", channelId);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is not open: it was withdrawn/);
  });

  it("sends no settlement voucher for the withdrawn channel, stays on the fresh one, and refunds an idle channel by itself", async () => {
    const { deployment } = net.devnet;
    // Everything served on the fresh channel is redeemed, so nothing at all is owed anywhere.
    await gateway.settle();
    await cheap.redeemer.redeemNow();
    expect((await onchain(fresh)).redeemed).toBe(spentOnFresh);
    await gateway.stop();
    // A restarted gateway on the same store remembers nothing of what it sent: only the chain tells
    // it that the withdrawn channel's voucher can never pay.
    const restarted = await startGateway({ home: net.home, deployment, privateKey: gateway.key, port: 0, logger: quietLogger(), offersRefreshMs: 100, settleIntervalMs: 3_600_000, closeIntervalMs: 3_600_000, autoCloseAfterSeconds: 1 });
    try {
      await restarted.settle();
      await restarted.settle();
      expect(restarted.settlementsPosted()).toBe(0);

      // The next chat stays on the pair's current channel, the fresh one: the withdrawn one is not
      // reopened (that would lock a second deposit).
      const answer = await chat(restarted, "Tom and Sue");
      expect(answer.provider).toBe(cheap.address);
      expect(restarted.store.getChannel(fresh)?.spent).toBe(spentOnFresh + answer.cost);
      expect((await onchain()).deposit).toBe(0n);
      spentOnFresh += answer.cost;

      // Idle for the (test's) auto-close age: the gateway closes it after sending the last voucher…
      const swept = await waitFor(async () => (await restarted.sweepChannels()).closed.find((c) => c.channelId === fresh), { what: "the idle channel to be closed" });
      expect(swept.closesAt).toBe((await onchain(fresh)).closesAt);
      expect(restarted.settlementsPosted()).toBe(1);
      await cheap.redeemer.redeemNow();
      const { deposit, redeemed } = await onchain(fresh);
      expect(redeemed).toBe(spentOnFresh);
      // …and withdraws it after the challenge period: deposit − spent comes back.
      await advanceTime(net.creator.public, deployment.challengePeriod);
      const done = await restarted.sweepChannels();
      expect(done.withdrawn.find((w) => w.channelId === fresh)?.refund).toBe(deposit - spentOnFresh);
      expect((await onchain(fresh)).epoch).toBe(1n);
      await restarted.settle();
      expect(restarted.settlementsPosted()).toBe(1);
      expect((await chat(restarted, "The end")).provider).toBe(cheap.address);
    } finally {
      await restarted.stop();
    }
  });
});
