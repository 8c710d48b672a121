import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { erc20Abi, getAddress, isAddressEqual, parseEventLogs, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { readChannel } from "../../src/payments/readChannel.ts";
import { channelIdOf } from "../../src/protocol/channelId.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { advanceTime } from "../helpers/advanceTime.ts";
import { runGotong } from "../helpers/cli.ts";
import { quietLogger, startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import { readCost } from "../helpers/readCost.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);

/**
 * A closing channel is not a dead end, even with a single provider of the model: the user closes
 * the gateway's channel from the CLI while the gateway runs, overlapping requests that follow are
 * served on a fresh channel to the same provider (the next salt), the provider still redeems the
 * closing one during its challenge period, and the user withdraws exactly its deposit − spent.
 * Across both channels: costs told to clients = gateway spent = provider owed = redeemed on-chain =
 * royalty + fee + provider share, to the base unit.
 */
describe("a fresh channel for the same pair while the old one closes", () => {
  let net: ChatNetwork;
  let provider: RunningProvider & { key: Hex };
  let gateway: RunningGateway;
  let gatewayKey: Hex;
  const told: bigint[] = [];
  let first: Hex;
  let fresh: Hex;
  /** Receipts each channel paid once the pair moved to the fresh channel. */
  let afterMove: Record<Hex, number>;
  const gotong = (...args: string[]) => runGotong([...args, "--home", net.home.root]);
  const json = async (...args: string[]) => {
    const r = await gotong(...args, "--json");
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  /** `n` overlapping chat requests, half streamed; each must be served by the one provider. */
  const chats = async (n: number, prompt: string) => {
    const answers = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const res = await postChat(gateway.baseUrl, net.model.name, `${prompt} ${i}`, { max_tokens: 8, stream: i % 2 === 0 });
        expect(res.status, await res.clone().text()).toBe(200);
        expect(res.headers.get("x-gotong-provider")).toBe(provider.address);
        const { cost, streamError } = await readCost(res);
        expect(streamError).toBeUndefined();
        expect(cost! > 0n).toBe(true);
        return cost!;
      }),
    );
    told.push(...answers);
    return answers;
  };
  /** How many of the gateway's receipts (one per paid request) each channel paid. */
  const receiptsPerChannel = () => {
    const counts: Record<Hex, number> = {};
    for (const r of gateway.store.listReceipts(1000)) counts[r.receipt.channelId] = (counts[r.receipt.channelId] ?? 0) + 1;
    return counts;
  };
  const onchain = (channelId: Hex) => readChannel(net.creator.public, net.devnet.deployment.paymentChannels, channelId);

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
    gatewayKey = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(gatewayKey).address, { tokens: 1_000n * UNIT });
    // Its own closer stays out of the way (an hour between sweeps): the user withdraws by hand.
    gateway = await startGateway({ home: net.home, deployment: net.devnet.deployment, privateKey: gatewayKey, port: 0, logger: quietLogger(), closeIntervalMs: 3_600_000 });
    writeFileSync(join(net.home.keys, "gateway.key"), gatewayKey + "\n", { mode: 0o600 });
  });
  afterAll(async () => {
    await gateway?.stop();
    await net?.stop();
  });

  it("serves overlapping requests on a fresh channel to the same provider once the first is closing", async () => {
    const sender = privateKeyToAccount(gatewayKey).address;
    first = channelIdOf(sender, provider.address, net.modelId, 0n);
    await chats(4, "Once upon a time");
    expect(receiptsPerChannel()).toEqual({ [first]: 4 });

    // Closed behind the gateway's back: the CLI is another process, the gateway learns it from the provider or the chain.
    const closed = (await json("channel", "close", first)) as { channelId: Hex; closesAt: string };
    expect(closed.channelId).toBe(first);
    expect((await onchain(first)).closesAt).not.toBe(0n);

    fresh = channelIdOf(sender, provider.address, net.modelId, 1n);
    // Right after the close, both sides may still trust their last read of the channel: these are
    // served on either channel, and paid either way.
    await chats(3, "A cat");
    const during = receiptsPerChannel();
    expect(Object.keys(during).every((id) => id === first || id === fresh)).toBe(true);
    // The provider trusts a read channel for a minute (a quarter of the challenge period at most),
    // but forgets it as soon as a ChannelCloseStarted event names it (polled once a second).
    await sleep(2_500);
    // Once the provider reads the close from the chain, every request goes to the fresh channel.
    await chats(6, "Lily went");
    afterMove = receiptsPerChannel();
    expect(afterMove[first]).toBe(during[first]);
    expect(afterMove[fresh]).toBe((during[fresh] ?? 0) + 6);
    const opened = await onchain(fresh);
    expect(opened).toMatchObject({ sender, provider: provider.address, modelId: net.modelId, epoch: 0n, closesAt: 0n });
    // The old channel is still closing (not withdrawn): two channels of one pair are live at once.
    expect((await onchain(first)).deposit).toBeGreaterThan(0n);

    const listed = (await json("channel", "list")) as { channels: { channelId: Hex; state: string }[] };
    expect(listed.channels.map((c) => [c.channelId, c.state]).sort()).toEqual([[first, "closing"], [fresh, "open"]].sort());
  });

  it("withdraws exactly deposit − spent of the closed channel while chat carries on on the fresh one", async () => {
    const { deployment } = net.devnet;
    // The last request on it is paid by the settlement voucher (every request's voucher pays for those before it).
    await gateway.settle();
    const spentOnFirst = gateway.store.getChannel(first)!.spent;
    expect(provider.store.getChannel(first, 0n).owed).toBe(spentOnFirst);
    // The provider redeems the closing channel within its challenge period (and the fresh one's vouchers so far).
    await provider.redeemer.redeemNow();
    const { deposit, redeemed } = await onchain(first);
    expect(redeemed).toBe(spentOnFirst);
    await advanceTime(net.creator.public, deployment.challengePeriod);

    const result = (await json("channel", "withdraw", first)) as { hash: Hex; refund: string; nextEpoch: string };
    expect(BigInt(result.refund)).toBe(deposit - spentOnFirst);
    expect(result.nextEpoch).toBe("1");
    const receipt = await net.creator.public.getTransactionReceipt({ hash: result.hash });
    const moved = parseEventLogs({ abi: erc20Abi, logs: receipt.logs.filter((l) => isAddressEqual(l.address, deployment.token.address)), eventName: "Transfer" });
    expect(moved.map((t) => [t.args.from, t.args.to, t.args.value])).toEqual([[getAddress(deployment.paymentChannels), privateKeyToAccount(gatewayKey).address, deposit - spentOnFirst]]);

    // The fresh channel was never closing: requests stay on it after the old one is withdrawn.
    await chats(3, "The sun rose");
    expect(receiptsPerChannel()).toEqual({ [first]: afterMove[first], [fresh]: afterMove[fresh]! + 3 });
  });

  it("keeps the money identity across both channels, to the base unit", async () => {
    const { deployment } = net.devnet;
    await gateway.settle();
    await provider.redeemer.redeemNow();
    const records = gateway.store.listChannels();
    expect(records.map((c) => c.channelId).sort()).toEqual([first, fresh].sort());
    expect(records.find((c) => c.channelId === fresh)?.salt).toBe(1n);
    const spent = sum(records.map((c) => c.spent));
    const owed = sum(records.map((c) => provider.store.getChannel(c.channelId, 0n).owed));
    expect(told).toHaveLength(16);
    expect(sum(told)).toBe(spent);
    expect(owed).toBe(spent);

    const events = await net.creator.public.getContractEvents({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, eventName: "VoucherRedeemed", args: { channelId: [first, fresh] }, fromBlock: 0n });
    const redeemed = sum(events.map((e) => e.args.amount!));
    expect(redeemed).toBe(spent);
    expect(sum(events.map((e) => e.args.royalty! + e.args.fee! + e.args.providerShare!))).toBe(redeemed);
    // What the fresh channel holds on-chain is what its events paid (the first one's was reset by the withdraw).
    expect((await onchain(fresh)).redeemed).toBe(sum(events.filter((e) => e.args.channelId === fresh).map((e) => e.args.amount!)));
  });
});
