import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createClients } from "../../src/chain/createClients.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import { readChannel } from "../../src/payments/readChannel.ts";
import { channelIdOf } from "../../src/protocol/channelId.ts";
import { createRedeemer, type RedeemerOptions, type RedeemResult } from "../../src/provider/createRedeemer.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { runGotong } from "../helpers/cli.ts";
import { firstCalls, startFaultyRpc } from "../helpers/faultyRpc.ts";
import { quietLogger, startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";

/**
 * A provider's redeems through RPC endpoints that fail as hosted RPCs do (rate limits, calls that
 * hang, hosts that vanish mid-redeem, nodes that lag behind), each a proxy in front of the devnet:
 * no voucher is lost, none is redeemed twice, and no redeem transaction is sent twice.
 */
describe("redeeming through faulty RPC endpoints", () => {
  let net: ChatNetwork;
  let provider: RunningProvider & { key: Hex };
  let gateway: RunningGateway & { key: Hex };
  let channelId: Hex;
  const deployment = () => net.devnet.deployment;
  const nonce = () => net.creator.public.getTransactionCount({ address: provider.address });
  const redeemedOnChain = async () => (await readChannel(net.creator.public, deployment().paymentChannels, channelId)).redeemed;
  const spentByGateway = () => gateway.store.listChannels().find((c) => c.channelId === channelId)!.spent;
  const paidOn = (result: RedeemResult) => result.redeemed.filter((r) => r.channelId === channelId).map((r) => r.amount);

  /** Chats through the gateway, settles, and returns the cost it told its client. */
  async function spend(prompt: string): Promise<bigint> {
    const res = await postChat(gateway.baseUrl, net.model.name, prompt, { max_tokens: 5 });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    await gateway.settle();
    return BigInt(res.headers.get("x-gotong-cost")!);
  }

  /** A redeemer of the provider's store that reaches the chain only through `urls`. */
  function redeemerThrough(urls: string[], options: Partial<RedeemerOptions> = {}) {
    const clients = createClients({ rpcUrl: urls[0]!, rpcUrls: urls, chainId: deployment().chainId, account: privateKeyToAccount(provider.key), timeoutMs: 1_000, retryCount: 3 });
    return createRedeemer({ clients, paymentChannels: deployment().paymentChannels, store: provider.store, logger: quietLogger(), receiptTimeoutMs: 3_000, ...options });
  }

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
    gateway = await net.gateway();
    await spend("Hello"); // opens the channel
    await provider.redeemer.redeemNow();
    channelId = channelIdOf(privateKeyToAccount(gateway.key).address, provider.address, net.modelId, 0n);
  });
  afterAll(async () => {
    await net?.stop();
  });

  it("retries rate-limited (429) and hanging calls with backoff, and redeems once, to the base unit", async () => {
    const rpc = await startFaultyRpc(deployment().rpcUrl);
    try {
      const cost = await spend("Once upon a time");
      const before = { nonce: await nonce(), redeemed: await redeemedOnChain() };
      // Every method's first two calls are rate-limited; the first receipt and channel reads hang past the timeout.
      const limited = firstCalls(2, "rate-limit");
      const hanging = firstCalls(1, "hang", ["eth_getTransactionReceipt", "eth_call"]);
      rpc.setFault((method) => hanging(method) ?? limited(method));
      const result = await redeemerThrough([rpc.url]).redeemNow();
      expect(paidOn(result)).toEqual([cost]);
      expect(await nonce(), "one transaction").toBe(before.nonce + 1);
      expect(await redeemedOnChain()).toBe(before.redeemed + cost);
      expect(rpc.calls.filter((m) => m === "eth_sendRawTransaction").length, "the signed transaction was broadcast after two 429s").toBe(3);
      expect(provider.store.inFlightRedeems()).toEqual([]);
    } finally {
      await rpc.close();
    }
  });

  it("moves to the next RPC URL when the first vanishes mid-redeem, and sends no second transaction", async () => {
    const [first, second] = [await startFaultyRpc(deployment().rpcUrl), await startFaultyRpc(deployment().rpcUrl)];
    try {
      const cost = await spend("A cat sat");
      const before = { nonce: await nonce(), redeemed: await redeemedOnChain() };
      // The first endpoint relays the transaction to the node, then its host is gone for good.
      let relayed = false;
      first.setFault((method) => {
        if (relayed) return "gone";
        if (method !== "eth_sendRawTransaction") return undefined;
        relayed = true;
        return "drop";
      });
      const result = await redeemerThrough([first.url, second.url]).redeemNow();
      expect(relayed).toBe(true);
      expect(paidOn(result)).toEqual([cost]);
      expect(await nonce(), "the same signed transaction, never a second one").toBe(before.nonce + 1);
      expect(await redeemedOnChain()).toBe(before.redeemed + cost);
      expect(second.calls, "the second endpoint took over").toContain("eth_getTransactionReceipt");
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("keeps a redeem whose only RPC vanished mid-send, and settles it from its record when the RPC is back, without re-sending", async () => {
    const rpc = await startFaultyRpc(deployment().rpcUrl);
    try {
      const cost = await spend("The sun rose");
      const before = { nonce: await nonce(), redeemed: await redeemedOnChain() };
      let relayed = false;
      rpc.setFault((method) => {
        if (relayed) return "gone";
        if (method !== "eth_sendRawTransaction") return undefined;
        relayed = true;
        return "drop";
      });
      await expect(redeemerThrough([rpc.url]).redeemNow()).rejects.toThrow(/redeem/i);
      const kept = provider.store.inFlightRedeems();
      expect(kept, "the signed transaction is on record").toHaveLength(1);
      expect(await nonce(), "the node has it").toBe(before.nonce + 1);
      expect(provider.store.unredeemed().map((s) => s.channelId), "the voucher is not lost").toContain(channelId);

      rpc.setFault(() => undefined);
      const restarted = await redeemerThrough([rpc.url]).redeemNow();
      expect(restarted.transactionHashes).toEqual([kept[0]!.hash]);
      expect(paidOn(restarted)).toEqual([cost]);
      expect(await nonce(), "nothing sent again").toBe(before.nonce + 1);
      expect(await redeemedOnChain()).toBe(before.redeemed + cost);
      expect(provider.store.inFlightRedeems()).toEqual([]);
    } finally {
      await rpc.close();
    }
  });

  it("sends nothing while its RPC answers from behind a block it already saw, then redeems once it catches up", async () => {
    const rpc = await startFaultyRpc(deployment().rpcUrl);
    try {
      const redeemer = redeemerThrough([rpc.url]);
      const cost1 = await spend("One day");
      const lastGood = await net.creator.public.getBlockNumber();
      expect(paidOn(await redeemer.redeemNow())).toEqual([cost1]);
      const cost2 = await spend("Later on");
      const before = { nonce: await nonce(), redeemed: await redeemedOnChain() };
      // The node falls behind to before that redeem: it would show the channel unredeemed and an old nonce.
      rpc.lagTo(lastGood);
      const behind = await redeemer.redeemNow();
      expect(behind.behind?.block).toBe(lastGood);
      expect(behind.transactionHashes).toEqual([]);
      expect(await nonce()).toBe(before.nonce);
      rpc.lagTo(undefined);
      const caughtUp = await redeemer.redeemNow();
      expect(paidOn(caughtUp)).toEqual([cost2]);
      expect(await nonce()).toBe(before.nonce + 1);
      expect(await redeemedOnChain()).toBe(before.redeemed + cost2);
    } finally {
      await rpc.close();
    }
  });

  it("gotong provider redeem waits while gas would cost more than its share of the vouchers, and says so; redeems once allowed", async () => {
    const cost = await spend("A dog ran");
    const before = await redeemedOnChain();
    const keyFile = join(net.home.root, "provider-gas.key");
    writeFileSync(keyFile, provider.key, { mode: 0o600 });
    const env = { GOTONG_HOME: net.home.root };
    // At 3,000 tokens per coin, ~100k gas at a devnet fee of ~1 gwei costs ~0.3 token: far more than a few base units.
    const waiting = await runGotong(["provider", "redeem", "--key", keyFile, "--native-price", "3000", "--max-gas-share", "0.5", "--json"], env);
    expect(waiting.code, waiting.stderr).toBe(0);
    const report = JSON.parse(waiting.stdout) as { transactionHashes: string[]; waitingForWorth: Record<string, string> | null };
    expect(report.transactionHashes).toEqual([]);
    expect(report.waitingForWorth).toMatchObject({ vouchers: 1, worth: cost.toString() });
    const w = report.waitingForWorth!;
    expect(BigInt(w.maxCost!)).toBeGreaterThan(BigInt(w.threshold!));
    expect(BigInt(w.threshold!)).toBe(cost / 2n);
    expect(BigInt(w.maxCostWei!)).toBe(BigInt(w.gas!) * BigInt(w.maxFeePerGas!));
    expect(await redeemedOnChain(), "nothing was sent").toBe(before);

    const text = await runGotong(["provider", "redeem", "--key", keyFile, "--native-price", "3000"], env);
    expect(text.stdout).toMatch(/waiting .* more than the \d+ allowed \(--max-gas-share\)/);

    // Worth it when the coin is cheap: sent, and the gas it was allowed is reported.
    const sent = await runGotong(["provider", "redeem", "--key", keyFile, "--native-price", "0.000001", "--max-gas-share", "1", "--json"], env);
    expect(sent.code, sent.stderr).toBe(0);
    const paid = JSON.parse(sent.stdout) as { amount: string; gas: Record<string, string>[] };
    expect(paid.amount).toBe(cost.toString());
    expect(paid.gas).toHaveLength(1);
    expect(BigInt(paid.gas[0]!.maxCost!)).toBeLessThanOrEqual(BigInt(paid.gas[0]!.threshold!));
    expect(await redeemedOnChain()).toBe(before + cost);

    const bad = await runGotong(["provider", "redeem", "--key", keyFile, "--max-gas-share", "2"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--max-gas-share must be a fraction above 0 and at most 1");
  });

  it("the money identity holds over all of it: what the gateway told its client is what was redeemed", async () => {
    expect(await redeemedOnChain()).toBe(spentByGateway());
    expect(provider.store.getChannel(channelId, 0n).owed).toBe(spentByGateway());
  });
});
