import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, getAddress, isAddressEqual, parseEventLogs, type Address } from "viem";
import { openAgent } from "../../src/agent/openAgent.ts";
import { readAgentBudget } from "../../src/agent/readAgentWallet.ts";
import { AgentWalletArtifact, PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { advanceTime } from "../helpers/advanceTime.ts";
import { runGotong } from "../helpers/cli.ts";
import { quietLogger, startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";

/** An agent's channel deposit is sized to its budget, shown as locked, and comes back into its wallet. */
describe("an agent gets its locked channel deposit back", () => {
  let net: ChatNetwork;
  let provider: RunningProvider;
  let wallet: Address;
  const gotong = (...args: string[]) => runGotong([...args, "--home", net.home.root]);
  const json = async (...args: string[]) => {
    const r = await gotong(...args, "--json");
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const balanceOf = (address: Address) => net.creator.public.readContract({ address: net.devnet.deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [address] });

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
    const created = await json("agent", "create", "bot", "--budget", "10", "--period", "1d", "--fund", "10", "--no-identity");
    wallet = created.wallet as Address;
  });
  afterAll(() => net?.stop());

  it("deposits 1% of the budget for a chat, counted against the budget and shown as locked", async () => {
    const agent = await openAgent("bot", { home: net.home.root, logger: quietLogger() });
    let cost: bigint;
    try {
      cost = (await agent.chat({ model: net.model.name, prompt: "Once upon a time", maxTokens: 8 })).cost;
      const budget = await agent.budget();
      // The deposit left the wallet through its policy: 1% of the 10-token budget, not a whole token.
      expect(budget.spent).toBe(UNIT / 10n);
      const channels = await agent.channels();
      expect(channels.live).toBe(1);
      expect(channels.channels[0]!.deposit).toBe(UNIT / 10n);
      expect(channels.locked).toBe(UNIT / 10n); // nothing redeemed yet
      expect(channels.unspent).toBe(UNIT / 10n - cost);
    } finally {
      await agent.close(); // settles: the provider holds the voucher for the chat
    }
    const status = (await json("agent", "status", "bot")) as { channels: { channels: number; locked: string; unspent: string } };
    expect(status.channels).toEqual({ channels: 1, locked: (UNIT / 10n).toString(), unspent: (UNIT / 10n - cost).toString() });
    const text = await gotong("agent", "status", "bot");
    expect(text.stdout).toMatch(/^channels 1 holding a deposit: 0\.1 gUSD \(100000\) locked/m);
  });

  it("close-channels closes, and after the challenge period withdraws exactly deposit − spent into the wallet", async () => {
    const first = (await json("agent", "close-channels", "bot")) as { closing: { channelId: string }[]; withdrawn: unknown[] };
    expect(first.closing).toHaveLength(1);
    expect(first.withdrawn).toEqual([]);
    const channelId = first.closing[0]!.channelId as `0x${string}`;
    const early = (await json("agent", "close-channels", "bot")) as { waiting: unknown[]; withdrawn: unknown[] };
    expect(early.waiting).toHaveLength(1);
    expect(early.withdrawn).toEqual([]);

    await provider.redeemer.redeemNow();
    const { deployment } = net.devnet;
    const redeemed = await net.creator.public.getContractEvents({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, eventName: "VoucherRedeemed", args: { channelId }, fromBlock: 0n });
    const spent = redeemed.reduce((sum, e) => sum + e.args.amount!, 0n);
    expect(spent).toBeGreaterThan(0n);
    const before = await balanceOf(wallet);
    await advanceTime(net.creator.public, deployment.challengePeriod);
    const budgetBefore = await readAgentBudget(net.creator.public, wallet, deployment.token.address);

    const done = (await json("agent", "close-channels", "bot")) as { withdrawn: { channelId: string; refund: string }[]; refunded: string };
    expect(done.withdrawn).toEqual([{ channelId, refund: (UNIT / 10n - spent).toString() }]);
    expect(BigInt(done.refunded)).toBe(UNIT / 10n - spent);
    expect(await balanceOf(wallet)).toBe(before + UNIT / 10n - spent);
    const withdrawals = await net.creator.public.getContractEvents({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, eventName: "ChannelWithdrawn", args: { channelId }, fromBlock: 0n });
    const receipt = await net.creator.public.getTransactionReceipt({ hash: withdrawals[0]!.transactionHash });
    const moved = parseEventLogs({ abi: erc20Abi, logs: receipt.logs.filter((l) => isAddressEqual(l.address, deployment.token.address)), eventName: "Transfer" });
    expect(moved.map((t) => [t.args.from, t.args.to, t.args.value])).toEqual([[getAddress(deployment.paymentChannels), getAddress(wallet), UNIT / 10n - spent]]);

    // The refund comes back into the period's budget: what is counted as spent is what left the
    // wallet for good (the inference the provider redeemed), so the agent can spend the rest again.
    const refunds = parseEventLogs({ abi: AgentWalletArtifact.abi, logs: receipt.logs.filter((l) => isAddressEqual(l.address, wallet)), eventName: "Refunded" });
    const credited = budgetBefore.spent < UNIT / 10n - spent ? budgetBefore.spent : UNIT / 10n - spent;
    expect(refunds.map((e) => [e.args.token, e.args.amount, e.args.credited])).toEqual([[getAddress(deployment.token.address), UNIT / 10n - spent, credited]]);
    const budgetAfter = await readAgentBudget(net.creator.public, wallet, deployment.token.address);
    expect(budgetAfter.periodStart).toBe(budgetBefore.periodStart);
    expect(budgetAfter.spent).toBe(budgetBefore.spent - credited);
    // In one period (unless the challenge period crossed the budget's midnight), that is the chat alone.
    if (budgetBefore.spent === UNIT / 10n) expect(budgetAfter.spent).toBe(spent);
    expect(budgetAfter.left).toBe(budgetAfter.budget - budgetAfter.spent);

    const status = (await json("agent", "status", "bot")) as { channels: { channels: number; locked: string } };
    expect(status.channels).toMatchObject({ channels: 0, locked: "0" });
  });
});
