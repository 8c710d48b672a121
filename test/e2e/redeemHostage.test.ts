import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeFunctionData, erc20Abi, parseEventLogs, toFunctionSelector, type Address, type Hex, type TransactionReceipt } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createAgent, createAgentWallet, defaultAgentPolicy, updateAgentPolicy, type Agent } from "../../src/agent/index.ts";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { channelIdOf } from "../../src/protocol/channelId.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import { readChannel } from "../../src/payments/readChannel.ts";
import { createRedeemer, type RedeemResult } from "../../src/provider/createRedeemer.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { advanceTime } from "../helpers/advanceTime.ts";
import { runGotong } from "../helpers/cli.ts";
import { quietLogger, startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";
import { startFaultyRpc } from "../helpers/faultyRpc.ts";
import { postChat } from "../helpers/postChat.ts";

/**
 * The hostage attack on a provider's pay: a counterparty who makes one stored voucher unpayable
 * (a channel closed after its challenge period, an agent wallet paused by its owner) must not stop
 * the provider's other vouchers from being redeemed, to the base unit, on every path.
 */
describe("one bad voucher never blocks a provider's other pay", () => {
  let net: ChatNetwork;
  let provider: RunningProvider & { key: Hex };
  let providerClients: ChainClients;
  const agents: Agent[] = [];
  const deployment = () => net.devnet.deployment;
  const pc = () => ({ address: deployment().paymentChannels, abi: PaymentChannelsArtifact.abi }) as const;
  const earnings = (who: Address) => net.creator.public.readContract({ ...pc(), functionName: "earnings", args: [who] });
  const royalties = () => net.creator.public.readContract({ ...pc(), functionName: "modelEarnings", args: [net.modelId] });
  const split = (amount: bigint) => {
    const royalty = (amount * 1000n) / 10_000n; // the chat model is published at 1000 bps
    const fee = (amount * BigInt(deployment().protocolFeeBps)) / 10_000n;
    return { royalty, fee, providerShare: amount - royalty - fee };
  };
  const books = async () => ({ provider: await earnings(provider.address), pool: await earnings(deployment().fundingPool), model: await royalties() });

  /** Chats `prompts` through `gateway`, settles, and returns the costs it reported to its client. */
  async function spend(gateway: RunningGateway, prompts: string[]): Promise<bigint> {
    let total = 0n;
    for (const prompt of prompts) {
      const res = await postChat(gateway.baseUrl, net.model.name, prompt, { max_tokens: 6 });
      expect(res.status).toBe(200);
      total += BigInt(res.headers.get("x-gotong-cost")!);
      await res.arrayBuffer();
    }
    await gateway.settle();
    return total;
  }

  const senderClients = (key: Hex) => createClients({ rpcUrl: deployment().rpcUrl, chainId: deployment().chainId, account: privateKeyToAccount(key) });
  const channelOf = (sender: Address) => channelIdOf(sender, provider.address, net.modelId, 0n);
  const onchain = (channelId: Hex) => readChannel(net.creator.public, deployment().paymentChannels, channelId);

  /** The VoucherRedeemed and VoucherSkipped events of a transaction. */
  async function eventsOf(hash: Hex) {
    const receipt: TransactionReceipt = await net.creator.public.getTransactionReceipt({ hash });
    const logs = receipt.logs.filter((l) => l.address.toLowerCase() === deployment().paymentChannels.toLowerCase());
    return { receipt, events: parseEventLogs({ abi: PaymentChannelsArtifact.abi, logs, eventName: ["VoucherRedeemed", "VoucherSkipped"] }) };
  }

  /** Every paid voucher of a run is split exactly, and the run's amount is their sum. */
  function expectExactSplits(result: RedeemResult) {
    for (const r of result.redeemed) {
      expect(r.royalty + r.fee + r.providerShare).toBe(r.amount);
      expect({ royalty: r.royalty, fee: r.fee, providerShare: r.providerShare }).toEqual(split(r.amount));
    }
    expect(result.amount).toBe(result.redeemed.reduce((s, r) => s + r.amount, 0n));
  }

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
    providerClients = senderClients(provider.key);
  });
  afterAll(async () => {
    for (const a of agents) await a.close().catch(() => {});
    await net?.stop();
  });

  it("pays the good channels to the base unit beside a channel closed after its challenge period, and holds that one back as ChannelClosed", async () => {
    const [bad, good1, good2] = [await net.gateway(), await net.gateway(), await net.gateway()];
    const badAddress = privateKeyToAccount(bad.key).address;
    const badCost = await spend(bad, ["Once upon", "A cat"]);
    const cost1 = await spend(good1, ["The sun", "Lily went", "One day"]);
    const cost2 = await spend(good2, ["A dog"]);
    const badChannel = channelOf(badAddress);
    expect(provider.store.getChannel(badChannel, 0n).voucher?.cumulativeAmount, "the bad channel's voucher is stored").toBe(badCost);

    // The attack: the sender starts a close and waits out the challenge period; the voucher stays stored.
    await writeAndWait(senderClients(bad.key), { ...pc(), functionName: "startClose", args: [badChannel] });
    await advanceTime(net.creator.public, deployment().challengePeriod + 1);

    const before = await books();
    const result = await provider.redeemer.redeemNow();
    expectExactSplits(result);
    const paid = new Map(result.redeemed.map((r) => [r.channelId, r.amount]));
    const good1Channel = channelOf(privateKeyToAccount(good1.key).address);
    const good2Channel = channelOf(privateKeyToAccount(good2.key).address);
    expect(paid).toEqual(new Map([[good1Channel, cost1], [good2Channel, cost2]]));
    expect(result.amount).toBe(cost1 + cost2);
    expect((await onchain(good1Channel)).redeemed).toBe(cost1);
    expect((await onchain(good2Channel)).redeemed).toBe(cost2);
    expect((await onchain(badChannel)).redeemed).toBe(0n);

    // On-chain: the events and the books move by exactly royalty + fee + provider share.
    const { receipt, events } = await eventsOf(result.transactionHash!);
    expect(receipt.status).toBe("success");
    expect(events.filter((e) => e.eventName === "VoucherRedeemed")).toHaveLength(2);
    expect(events.filter((e) => e.eventName === "VoucherSkipped"), "the redeemer never sent the bad voucher").toHaveLength(0);
    const after = await books();
    const s1 = split(cost1);
    const s2 = split(cost2);
    expect(after.model - before.model).toBe(s1.royalty + s2.royalty);
    expect(after.pool - before.pool).toBe(s1.fee + s2.fee);
    expect(after.provider - before.provider).toBe(s1.providerShare + s2.providerShare);

    // The bad one is held back with the contract's reason, for good, and reported.
    const held = result.skipped.find((q) => q.channelId === badChannel);
    expect(held).toMatchObject({ epoch: 0n, cumulativeAmount: badCost, reason: "ChannelClosed", permanent: true, retryAt: undefined });
    expect(result.quarantined.map((q) => q.channelId)).toContain(badChannel);

    // The next runs do not try it again, and still pay new vouchers of the good channels.
    const more = await spend(good1, ["Again"]);
    const next = await provider.redeemer.redeemNow();
    expect(next.skipped, "not checked again").toEqual([]);
    expect(next.redeemed.map((r) => [r.channelId, r.amount])).toEqual([[good1Channel, more]]);
    expect(next.quarantined.find((q) => q.channelId === badChannel)?.attempts).toBe(1);

    // And the contract itself skips it: a batch sent straight to the chain with the bad voucher in it pays the rest.
    const more2 = await spend(good2, ["Later"]);
    const voucherOf = (channelId: Hex) => provider.store.getChannel(channelId, 0n).voucher!;
    const vouchers = [voucherOf(badChannel), voucherOf(good2Channel)];
    const hash = await providerClients.wallet.sendTransaction({
      to: deployment().paymentChannels,
      data: encodeFunctionData({
        abi: PaymentChannelsArtifact.abi,
        functionName: "redeemBatch",
        args: [vouchers.map((v) => ({ channelId: v.channelId, epoch: v.epoch, cumulativeAmount: v.cumulativeAmount })), vouchers.map((v) => v.signature)],
      }),
      gas: 1_000_000n, // no estimate: the chain alone decides
    });
    await providerClients.public.waitForTransactionReceipt({ hash });
    const raw = await eventsOf(hash);
    expect(raw.receipt.status).toBe("success");
    const skippedEvent = raw.events.find((e) => e.eventName === "VoucherSkipped");
    expect(skippedEvent?.args).toMatchObject({ channelId: badChannel, provider: provider.address, cumulativeAmount: badCost });
    expect((skippedEvent?.args as { reason: Hex }).reason, "the reason is ChannelClosed's selector").toBe(toFunctionSelector("ChannelClosed(bytes32,uint64)"));
    const redeemedEvent = raw.events.find((e) => e.eventName === "VoucherRedeemed");
    expect(redeemedEvent?.args).toMatchObject({ channelId: good2Channel, amount: more2 });
    expect((await onchain(good2Channel)).redeemed).toBe(cost2 + more2);
    // The redeemer catches up with what was paid behind its back: nothing to send, nothing lost.
    const caughtUp = await provider.redeemer.redeemNow();
    expect(caughtUp.transactionHash).toBeUndefined();
    expect(provider.store.getChannel(good2Channel, 0n).redeemed).toBe(cost2 + more2);

    // The money identity on each good channel: what the gateway told its client = spent = owed = redeemed.
    for (const [gateway, channelId] of [[good1, good1Channel], [good2, good2Channel]] as const) {
      const spent = gateway.store.listChannels().find((c) => c.channelId === channelId)!.spent;
      expect(provider.store.getChannel(channelId, 0n).owed).toBe(spent);
      expect((await onchain(channelId)).redeemed).toBe(spent);
    }
  });

  it("pays a good channel beside a paused agent wallet's voucher, holds that one back, and pays it once the wallet is unpaused and sends a higher voucher", async () => {
    const owner = senderClients(generatePrivateKey());
    await fundOnDevnet(deployment(), owner.account.address, { tokens: 1_000n * UNIT });
    const agentKey = generatePrivateKey();
    await fundOnDevnet(deployment(), privateKeyToAccount(agentKey).address, {});
    const policy = defaultAgentPolicy(deployment(), { budget: 10n * UNIT, maxPerTransaction: 4n * UNIT, period: 86_400 });
    const wallet = await createAgentWallet(owner, deployment(), { agent: privateKeyToAccount(agentKey).address, policy });
    await writeAndWait(owner, { address: deployment().token.address, abi: erc20Abi, functionName: "transfer", args: [wallet, 100n * UNIT] });
    const newAgent = async () => {
      const agent = await createAgent({ wallet, agentKey, deployment: deployment(), home: net.home, logger: quietLogger() });
      agents.push(agent);
      return agent;
    };

    let agent = await newAgent();
    let agentCost = 0n;
    for (const prompt of ["Once upon a time", "A little cat"]) agentCost += (await agent.chat({ model: net.model.name, prompt, maxTokens: 6 })).cost;
    await agent.close(); // settles: the voucher for the last request is stored
    const agentChannel = channelOf(wallet);
    expect(provider.store.getChannel(agentChannel, 0n).voucher?.cumulativeAmount).toBe(agentCost);

    // The owner pauses the wallet: its ERC-1271 check now refuses every voucher it signed.
    await updateAgentPolicy(owner, wallet, { paused: true });
    const good = await net.gateway();
    const goodCost = await spend(good, ["The sun", "A dog"]);
    const goodChannel = channelOf(privateKeyToAccount(good.key).address);

    const before = await books();
    const result = await provider.redeemer.redeemNow();
    expectExactSplits(result);
    expect(result.redeemed.map((r) => [r.channelId, r.amount])).toEqual([[goodChannel, goodCost]]);
    const after = await books();
    const s = split(goodCost);
    expect([after.model - before.model, after.pool - before.pool, after.provider - before.provider]).toEqual([s.royalty, s.fee, s.providerShare]);
    const { events } = await eventsOf(result.transactionHash!);
    expect(events.map((e) => e.eventName)).toEqual(["VoucherRedeemed"]);
    const held = result.skipped.find((q) => q.channelId === agentChannel);
    expect(held).toMatchObject({ cumulativeAmount: agentCost, reason: "InvalidVoucherSignature", permanent: false, attempts: 1 });
    expect(held!.retryAt).toBeGreaterThan(Date.now());
    expect((await onchain(agentChannel)).redeemed).toBe(0n);

    // Not retried on the next run (its retry time has not come), nor on a restart of the redeemer.
    expect((await provider.redeemer.redeemNow()).skipped).toEqual([]);
    const restarted = createRedeemer({ clients: providerClients, paymentChannels: deployment().paymentChannels, store: provider.store, logger: quietLogger(), intervalMs: 3_600_000 });
    const again = await restarted.redeemNow();
    expect(again.skipped).toEqual([]);
    expect(again.transactionHash).toBeUndefined();
    expect(again.quarantined.find((q) => q.channelId === agentChannel)?.reason).toBe("InvalidVoucherSignature");

    // `gotong provider redeem --json` pays the good channel's new voucher and lists every voucher
    // held back with its channel and reason, amounts as decimal strings of base units.
    const more = await spend(good, ["Once more"]);
    const keyFile = join(net.home.root, "provider-under-test.key");
    writeFileSync(keyFile, provider.key, { mode: 0o600 });
    const cli = await runGotong(["provider", "redeem", "--json", "--key", keyFile], { GOTONG_HOME: net.home.root });
    expect(cli.code, cli.stderr).toBe(0);
    const report = JSON.parse(cli.stdout) as { amount: string; redeemed: Record<string, unknown>[]; skipped: unknown[]; quarantined: Record<string, unknown>[] };
    const m = split(more);
    expect(report.amount).toBe(more.toString());
    expect(report.redeemed).toEqual([
      expect.objectContaining({ channelId: goodChannel, epoch: "0", cumulativeAmount: (goodCost + more).toString(), amount: more.toString(), royalty: m.royalty.toString(), fee: m.fee.toString(), providerShare: m.providerShare.toString() }),
    ]);
    expect(report.skipped).toEqual([]);
    expect(report.quarantined).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ channelId: agentChannel, epoch: "0", cumulativeAmount: agentCost.toString(), reason: "InvalidVoucherSignature", permanent: false }),
        expect.objectContaining({ reason: "ChannelClosed", permanent: true, retryAt: null }),
      ]),
    );
    expect((await onchain(goodChannel)).redeemed).toBe(goodCost + more);

    // Unpaused, the agent pays one more request: the higher voucher is tried at once and pays it all.
    await updateAgentPolicy(owner, wallet, { paused: false });
    agent = await newAgent();
    agentCost += (await agent.chat({ model: net.model.name, prompt: "The end", maxTokens: 6 })).cost;
    await agent.close();
    expect(provider.store.getChannel(agentChannel, 0n).voucher?.cumulativeAmount).toBe(agentCost);
    const paid = await provider.redeemer.redeemNow();
    expectExactSplits(paid);
    expect(paid.redeemed.map((r) => [r.channelId, r.amount])).toEqual([[agentChannel, agentCost]]);
    expect((await onchain(agentChannel)).redeemed).toBe(agentCost);
    expect(paid.quarantined.find((q) => q.channelId === agentChannel), "released once paid").toBeUndefined();
  });

  it("redeems a closing channel first, before its challenge period ends, even below the minimum amount", async () => {
    const [closing, open] = [await net.gateway(), await net.gateway()];
    const closingCost = await spend(closing, ["Once", "Twice"]);
    const openCost = await spend(open, ["Thrice"]);
    const closingChannel = channelOf(privateKeyToAccount(closing.key).address);
    const openChannel = channelOf(privateKeyToAccount(open.key).address);
    await writeAndWait(senderClients(closing.key), { ...pc(), functionName: "startClose", args: [closingChannel] });
    const { closesAt } = await onchain(closingChannel);
    await advanceTime(net.creator.public, deployment().challengePeriod - 60); // a minute left

    // A redeemer that would wait for a large total, one voucher per transaction: the closing one goes first.
    const redeemer = createRedeemer({ clients: providerClients, paymentChannels: deployment().paymentChannels, store: provider.store, logger: quietLogger(), minAmount: 10n ** 30n, maxBatch: 1 });
    const result = await redeemer.redeemNow();
    expectExactSplits(result);
    expect(result.redeemed.map((r) => [r.channelId, r.amount])).toEqual([[closingChannel, closingCost], [openChannel, openCost]]);
    expect(result.transactionHashes).toHaveLength(2);
    const first = await eventsOf(result.transactionHash!);
    expect(first.events.map((e) => (e.args as { channelId: Hex }).channelId)).toEqual([closingChannel]);
    const block = await net.creator.public.getBlock({ blockNumber: first.receipt.blockNumber });
    expect(block.timestamp).toBeLessThan(closesAt);
    expect((await onchain(closingChannel)).redeemed).toBe(closingCost);

    // After the period, the sender gets back exactly what was not spent.
    await advanceTime(net.creator.public, 120);
    const channel = await onchain(closingChannel);
    const refund = await writeAndWait(senderClients(closing.key), { ...pc(), functionName: "withdraw", args: [closingChannel] });
    expect(refund.result).toBe(channel.deposit - closingCost);
  });

  it("never loses or double-sends a redeem when the RPC fails: a lost answer, a refused broadcast, receipts that do not come", async () => {
    const rpc = await startFaultyRpc(deployment().rpcUrl);
    try {
      const clients = createClients({ rpcUrl: rpc.url, chainId: deployment().chainId, account: privateKeyToAccount(provider.key) });
      const redeemer = createRedeemer({ clients, paymentChannels: deployment().paymentChannels, store: provider.store, logger: quietLogger(), receiptTimeoutMs: 1_500 });
      const gateway = await net.gateway();
      const channelId = channelOf(privateKeyToAccount(gateway.key).address);
      const nonce = () => net.creator.public.getTransactionCount({ address: provider.address });
      const paidOn = (result: RedeemResult) => result.redeemed.filter((r) => r.channelId === channelId).map((r) => r.amount);

      // The node takes the transaction but its answer is lost: the retried send is not a second one.
      const cost1 = await spend(gateway, ["One"]);
      let n = await nonce();
      let lost = false;
      rpc.setFault((method) => (method === "eth_sendRawTransaction" && !lost ? ((lost = true), "lose-answer") : undefined));
      const first = await redeemer.redeemNow();
      expect(lost).toBe(true);
      expect(paidOn(first)).toEqual([cost1]);
      expect(await nonce()).toBe(n + 1);

      // The broadcast never reaches the node: the signed transaction is kept, and the next run
      // sends those same bytes, not a new transaction.
      const cost2 = await spend(gateway, ["Two"]);
      n = await nonce();
      rpc.setFault((method) => (method === "eth_sendRawTransaction" ? "refuse" : undefined));
      await expect(redeemer.redeemNow()).rejects.toThrow();
      expect(await nonce(), "nothing was sent").toBe(n);
      const kept = provider.store.inFlightRedeems();
      expect(kept).toHaveLength(1);
      rpc.setFault(() => undefined);
      const second = await redeemer.redeemNow();
      expect(second.transactionHashes).toEqual([kept[0]!.hash]);
      expect(paidOn(second)).toEqual([cost2]);
      expect(await nonce()).toBe(n + 1);

      // Mined, but its receipt cannot be read: left pending, then settled by the next run (here a
      // restarted redeemer on the same database) without sending anything again.
      const cost3 = await spend(gateway, ["Three"]);
      n = await nonce();
      rpc.setFault((method) => (method === "eth_getTransactionReceipt" ? "refuse" : undefined));
      const third = await redeemer.redeemNow();
      expect(third.redeemed).toEqual([]);
      expect(third.pending).toHaveLength(1);
      expect(await nonce()).toBe(n + 1);
      rpc.setFault(() => undefined);
      const restarted = createRedeemer({ clients, paymentChannels: deployment().paymentChannels, store: provider.store, logger: quietLogger() });
      const fourth = await restarted.redeemNow();
      expect(fourth.transactionHashes).toEqual(third.pending);
      expect(paidOn(fourth)).toEqual([cost3]);
      expect(await nonce(), "no second transaction").toBe(n + 1);
      expect(provider.store.inFlightRedeems()).toEqual([]);

      // Every base unit told to the client was redeemed, once.
      expect((await onchain(channelId)).redeemed).toBe(cost1 + cost2 + cost3);
      expect(gateway.store.listChannels().find((c) => c.channelId === channelId)!.spent).toBe(cost1 + cost2 + cost3);
    } finally {
      await rpc.close();
    }
  });
});
