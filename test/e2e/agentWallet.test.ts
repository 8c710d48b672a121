import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BaseError,
  ContractFunctionRevertedError,
  decodeEventLog,
  encodeFunctionData,
  erc20Abi,
  zeroAddress,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { AgentRegistryArtifact, AgentReputationArtifact, PaymentChannelsArtifact, QuadraticFundingArtifact } from "../../src/chain/contracts.generated.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { isGotongError } from "../../src/common/errors.ts";
import { createAgent, createAgentWallet, defaultAgentPolicy, readAgentWallet, registerAgentIdentity, revokeAgent, updateAgentPolicy, type Agent, type AgentLimits } from "../../src/agent/index.ts";
import { agentWalletAbi, agentWalletFactoryAbi } from "../../src/agent/walletAbi.ts";
import { channelIdOf } from "../../src/protocol/channelId.ts";
import { encodeVoucherHeader, signVoucher } from "../../src/protocol/voucher.ts";
import { readChannel } from "../../src/payments/readChannel.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { advanceTime } from "../helpers/advanceTime.ts";
import { quietLogger, startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";

type Call = { target: Address; value: bigint; data: Hex };

/** Expects `promise` to reject with a GotongError of `code`. */
async function refusedWith(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isGotongError(error) ? error.code : error, `expected a ${code} refusal`).toBe(code);
}

/** The custom error a simulated call reverts with. */
function revertName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const revert = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  return revert?.data?.errorName;
}

describe("agent wallets on a real chain", () => {
  let net: ChatNetwork;
  let provider: RunningProvider & { key: Hex };
  let owner: ChainClients;
  const agents: Agent[] = [];
  const deployment = () => net.devnet.deployment;
  const token = () => deployment().token.address;
  const balanceOf = (who: Address) => owner.public.readContract({ address: token(), abi: erc20Abi, functionName: "balanceOf", args: [who] });
  const transfer = (to: Address, amount: bigint): Call => ({ target: token(), value: 0n, data: encodeFunctionData({ abi: erc20Abi, functionName: "transfer", args: [to, amount] }) });
  const approve = (spender: Address, amount: bigint): Call => ({ target: token(), value: 0n, data: encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [spender, amount] }) });

  /** A fresh agent key (with gas) and a wallet for it with `limits`, owned and funded with 100 gUSD by `walletOwner`. */
  async function newWallet(limits: Partial<AgentLimits> = {}, walletOwner = owner) {
    const agentKey = generatePrivateKey();
    const agentClients = createClients({ rpcUrl: deployment().rpcUrl, chainId: deployment().chainId, account: privateKeyToAccount(agentKey) });
    await fundOnDevnet(deployment(), agentClients.account.address, {});
    const policy = defaultAgentPolicy(deployment(), { budget: 10n * UNIT, maxPerTransaction: 4n * UNIT, period: 86_400, ...limits });
    const wallet = await createAgentWallet(walletOwner, deployment(), { agent: agentClients.account.address, policy });
    await writeAndWait(walletOwner, { address: token(), abi: erc20Abi, functionName: "transfer", args: [wallet, 100n * UNIT] });
    return { wallet, agentKey, agentClients };
  }

  /** Sends calls from the agent key straight to the wallet, bypassing the SDK's checks: what does the chain say? */
  async function rawExecute(agentClients: ChainClients, wallet: Address, calls: Call[]): Promise<{ errorName?: string; status: string }> {
    let errorName: string | undefined;
    try {
      await agentClients.public.simulateContract({ address: wallet, abi: agentWalletAbi, functionName: "executeBatch", args: [calls], account: agentClients.account });
    } catch (error) {
      errorName = revertName(error) ?? "unknown";
    }
    // Sent anyway, with a fixed gas limit (no estimate), so the chain itself has to refuse it.
    const hash = await agentClients.wallet.writeContract({ address: wallet, abi: agentWalletAbi, functionName: "executeBatch", args: [calls], gas: 1_000_000n });
    const receipt = await agentClients.public.waitForTransactionReceipt({ hash });
    return { errorName, status: receipt.status };
  }

  async function spentOf(wallet: Address): Promise<bigint> {
    return (await readAgentWallet(owner.public, wallet)).budgets.find((b) => b.token.toLowerCase() === token().toLowerCase())!.spent;
  }

  async function agentFor(wallet: Address, agentKey: Hex) {
    const agent = await createAgent({ wallet, agentKey, deployment: deployment(), home: net.home, logger: quietLogger() });
    agents.push(agent);
    return agent;
  }

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
    const ownerKey = generatePrivateKey();
    owner = createClients({ rpcUrl: deployment().rpcUrl, chainId: deployment().chainId, account: privateKeyToAccount(ownerKey) });
    await fundOnDevnet(deployment(), owner.account.address, { tokens: 10_000n * UNIT });
  });
  afterAll(async () => {
    for (const a of agents) await a.close().catch(() => {});
    await net?.stop();
  });

  it("opens a payment channel from the wallet, pays with vouchers the agent key signs, and the provider redeems them", async () => {
    const { wallet, agentKey } = await newWallet();
    const agent = await agentFor(wallet, agentKey);
    const models = await agent.models();
    expect(models.map((m) => m.name)).toContain(net.model.name);

    const costs: bigint[] = [];
    for (const prompt of ["Once upon a time", "A little cat", "The sun"]) {
      const answer = await agent.chat({ model: net.model.name, prompt, maxTokens: 8 });
      expect(answer.outputTokens).toBeGreaterThan(0);
      costs.push(answer.cost);
    }
    const total = costs.reduce((a, b) => a + b, 0n);
    expect(total).toBeGreaterThan(0n);

    // The channel is the wallet's, and its deposit counted against the budget through its approval:
    // 1% of the 10-token budget by default (defaultAgentDeposit), not a whole token.
    const channelId = channelIdOf(wallet, provider.address, net.modelId, 0n);
    const channel = await readChannel(owner.public, deployment().paymentChannels, channelId);
    expect(channel.sender).toBe(wallet);
    expect(channel.deposit).toBe(UNIT / 10n);
    expect(await spentOf(wallet)).toBe(UNIT / 10n);

    await agent.close(); // settles: sends the voucher for the last request
    const result = await provider.redeemer.redeemNow();
    expect(result.amount).toBe(total);
    const receipt = await owner.public.getTransactionReceipt({ hash: result.transactionHash! });
    const redeemed = receipt.logs
      .filter((l) => l.address.toLowerCase() === deployment().paymentChannels.toLowerCase())
      .map((l) => decodeEventLog({ abi: PaymentChannelsArtifact.abi, data: l.data, topics: l.topics }))
      .filter((e) => e.eventName === "VoucherRedeemed");
    expect(redeemed).toHaveLength(1);
    expect((redeemed[0]!.args as { channelId: Hex }).channelId).toBe(channelId);
    expect((await readChannel(owner.public, deployment().paymentChannels, channelId)).redeemed).toBe(total);
  });

  it("refuses on-chain what the policy forbids, even when the SDK is bypassed, and spends nothing", async () => {
    const { wallet, agentClients } = await newWallet({ budget: 10n * UNIT, maxPerTransaction: 4n * UNIT });
    const merchant = privateKeyToAccount(generatePrivateKey()).address;
    const accomplice = createClients({ rpcUrl: deployment().rpcUrl, chainId: deployment().chainId, account: privateKeyToAccount(generatePrivateKey()) });
    await fundOnDevnet(deployment(), accomplice.account.address, {});
    const before = await balanceOf(wallet);

    // over the per-transaction cap
    expect(await rawExecute(agentClients, wallet, [transfer(merchant, 5n * UNIT)])).toEqual({ errorName: "OverPerTransactionCap", status: "reverted" });
    // a target not allowed, a selector not allowed
    const stranger = { target: merchant, value: 0n, data: "0x" as Hex };
    expect(await rawExecute(agentClients, wallet, [stranger])).toEqual({ errorName: "CallNotAllowed", status: "reverted" });
    const withdrawEarnings = { target: deployment().paymentChannels, value: 0n, data: encodeFunctionData({ abi: PaymentChannelsArtifact.abi, functionName: "withdrawEarnings", args: [merchant] }) };
    expect(await rawExecute(agentClients, wallet, [withdrawEarnings])).toEqual({ errorName: "CallNotAllowed", status: "reverted" });
    expect(await balanceOf(wallet)).toBe(before);

    // an approve to an accomplice counts against the budget, even though the accomplice pulls it later
    expect(await rawExecute(agentClients, wallet, [approve(accomplice.account.address, 4n * UNIT)])).toEqual({ errorName: undefined, status: "success" });
    expect(await spentOf(wallet)).toBe(4n * UNIT);
    await writeAndWait(accomplice, { address: token(), abi: erc20Abi, functionName: "transferFrom", args: [wallet, accomplice.account.address, 4n * UNIT] });
    expect(await rawExecute(agentClients, wallet, [transfer(merchant, 4n * UNIT)])).toEqual({ errorName: undefined, status: "success" });
    // over the period budget: 8 of 10 spent
    expect(await rawExecute(agentClients, wallet, [transfer(merchant, 3n * UNIT)])).toEqual({ errorName: "OverBudget", status: "reverted" });
    expect(await spentOf(wallet)).toBe(8n * UNIT);
    expect(before - (await balanceOf(wallet))).toBe(8n * UNIT);

    // after pause, and after revocation
    await updateAgentPolicy(owner, wallet, { paused: true });
    expect(await rawExecute(agentClients, wallet, [transfer(merchant, 1n)])).toEqual({ errorName: "WalletPaused", status: "reverted" });
    await updateAgentPolicy(owner, wallet, { paused: false });
    expect(await rawExecute(agentClients, wallet, [transfer(merchant, 1n)])).toEqual({ errorName: undefined, status: "success" });
    await revokeAgent(owner, wallet);
    expect(await rawExecute(agentClients, wallet, [transfer(merchant, 1n)])).toEqual({ errorName: "AgentKeyRevoked", status: "reverted" });
    expect(before - (await balanceOf(wallet))).toBe(8n * UNIT + 1n);
  });

  it("refuses in the SDK first, with an error saying why, and nothing is sent", async () => {
    const { wallet, agentKey, agentClients } = await newWallet({ budget: 10n * UNIT, maxPerTransaction: 4n * UNIT });
    const agent = await agentFor(wallet, agentKey);
    const merchant = privateKeyToAccount(generatePrivateKey()).address;
    const nonce = () => owner.public.getTransactionCount({ address: agentClients.account.address });
    const sent = await nonce();
    await refusedWith(agent.pay({ to: merchant, amount: 5n * UNIT }), "over_transaction_cap");
    // Native coin to an address the policy does not list, then listed but without a native budget.
    await refusedWith(agent.pay({ to: merchant, amount: 1n, token: zeroAddress }), "call_not_allowed");
    expect(await nonce(), "no transaction was sent").toBe(sent);
    await updateAgentPolicy(owner, wallet, { allow: [{ target: merchant, selector: "0x00000000" }] });
    await refusedWith(agent.pay({ to: merchant, amount: 1n, token: zeroAddress }), "no_budget");
    expect(await nonce(), "no transaction was sent").toBe(sent);

    await agent.pay({ to: merchant, amount: 4n * UNIT });
    await agent.pay({ to: merchant, amount: 4n * UNIT });
    await refusedWith(agent.pay({ to: merchant, amount: 3n * UNIT }), "budget_exceeded");
    const budget = await agent.budget();
    expect(budget.spent).toBe(8n * UNIT);
    expect(budget.left).toBe(2n * UNIT);
    expect(budget.resetsAt - budget.periodStart).toBe(86_400);

    await updateAgentPolicy(owner, wallet, { paused: true });
    await refusedWith(agent.pay({ to: merchant, amount: 1n }), "wallet_paused");
    await updateAgentPolicy(owner, wallet, { paused: false });
    await revokeAgent(owner, wallet);
    await refusedWith(agent.pay({ to: merchant, amount: 1n }), "agent_revoked");
    expect(await balanceOf(merchant)).toBe(8n * UNIT);
  });

  it("holds the budget against parallel requests: in the SDK, and on-chain within one block", async () => {
    const { wallet, agentKey } = await newWallet({ budget: 10n * UNIT, maxPerTransaction: 4n * UNIT });
    const agent = await agentFor(wallet, agentKey);
    const merchant = privateKeyToAccount(generatePrivateKey()).address;
    // Four payments of 3 at once: each fits, together they do not. The SDK lets three through.
    const results = await Promise.allSettled([0, 1, 2, 3].map(() => agent.pay({ to: merchant, amount: 3n * UNIT })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason.code).toBe("budget_exceeded");
    expect(await balanceOf(merchant)).toBe(9n * UNIT);

    // Bypassing the SDK, two transactions in the same block: the chain lets only what fits through.
    const second = await newWallet({ budget: 10n * UNIT, maxPerTransaction: 6n * UNIT });
    const rpc = owner.public as PublicClient;
    await rpc.request({ method: "evm_setAutomine" as never, params: [false] as never });
    let hashes: Hex[];
    try {
      const baseNonce = await owner.public.getTransactionCount({ address: second.agentClients.account.address });
      hashes = await Promise.all(
        [0, 1].map((i) =>
          second.agentClients.wallet.writeContract({
            address: second.wallet,
            abi: agentWalletAbi,
            functionName: "executeBatch",
            args: [[transfer(merchant, 6n * UNIT)]],
            gas: 1_000_000n,
            nonce: baseNonce + i,
          }),
        ),
      );
      await rpc.request({ method: "evm_mine" as never, params: [] as never });
    } finally {
      await rpc.request({ method: "evm_setAutomine" as never, params: [true] as never });
    }
    const receipts = await Promise.all(hashes.map((hash) => owner.public.waitForTransactionReceipt({ hash })));
    expect(receipts[0]!.blockNumber).toBe(receipts[1]!.blockNumber);
    expect(receipts.map((r) => r.status).sort()).toEqual(["reverted", "success"]);
    expect(await spentOf(second.wallet)).toBe(6n * UNIT);
    expect(await balanceOf(merchant)).toBe(15n * UNIT);
  });

  it("after revocation the provider refuses the agent's new vouchers (ERC-1271 says no) and serves nothing", async () => {
    const { wallet, agentKey } = await newWallet();
    const agent = await agentFor(wallet, agentKey);
    await agent.chat({ model: net.model.name, prompt: "Once", maxTokens: 4 });
    const channelId = channelIdOf(wallet, provider.address, net.modelId, 0n);
    const owedBefore = provider.store.getChannel(channelId, 0n).owed;
    expect(owedBefore).toBeGreaterThan(0n);
    // The gateway's idle settler sends the voucher for that last request on its own every few
    // seconds, so whether the provider holds it when the owner revokes is chance. Send it here, as
    // the settler does, so every run starts from the state an owner meets in practice: the provider
    // holds a voucher for everything it served (the settler, running later, changes nothing).
    const domain = { chainId: deployment().chainId, verifyingContract: deployment().paymentChannels };
    const sendVoucher = async (cumulativeAmount: bigint) => {
      const voucher = await signVoucher(privateKeyToAccount(agentKey), domain, { channelId, epoch: 0n, cumulativeAmount });
      const res = await fetch(`${provider.url}/gotong/vouchers`, { method: "POST", headers: { "x-gotong-voucher": encodeVoucherHeader(voucher) } });
      return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
    };
    expect((await sendVoucher(owedBefore)).status, "before revocation the last voucher is accepted").toBe(200);
    expect(provider.store.getChannel(channelId, 0n).voucher?.cumulativeAmount).toBe(owedBefore);

    await revokeAgent(owner, wallet);
    const late = await sendVoucher(owedBefore + 1n);
    expect([late.status, late.body.error?.code], "a voucher the revoked key signs is refused").toEqual([401, "voucher_signature_invalid"]);
    const error = await agent.chat({ model: net.model.name, prompt: "Twice", maxTokens: 4 }).then(() => undefined, (e: unknown) => e);
    expect(isGotongError(error), "the chat is refused").toBe(true);
    expect(provider.store.getChannel(channelId, 0n).owed, "nothing more was served").toBe(owedBefore);
    expect(provider.store.getChannel(channelId, 0n).voucher?.cumulativeAmount, "no voucher was accepted after revocation").toBe(owedBefore);
  });

  it("refuses a key used on another chain, and a voucher signed for another chain", async () => {
    const { wallet, agentKey } = await newWallet();
    const elsewhere = await createAgent({ wallet, agentKey, deployment: { ...deployment(), chainId: 1 }, home: net.home, logger: quietLogger() });
    agents.push(elsewhere);
    await refusedWith(elsewhere.pay({ to: owner.account.address, amount: 1n }), "wrong_chain");

    // A channel from the wallet, then a voucher the agent key signs for chain 1: PaymentChannels refuses it.
    const agent = await agentFor(wallet, agentKey);
    await agent.chat({ model: net.model.name, prompt: "Hello", maxTokens: 4 });
    const channelId = channelIdOf(wallet, provider.address, net.modelId, 0n);
    const voucher = await signVoucher(privateKeyToAccount(agentKey), { chainId: 1, verifyingContract: deployment().paymentChannels }, { channelId, epoch: 0n, cumulativeAmount: 1n });
    const providerClients = createClients({ rpcUrl: deployment().rpcUrl, chainId: deployment().chainId, account: privateKeyToAccount(provider.key) });
    const error = await providerClients.public
      .simulateContract({ address: deployment().paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "redeem", args: [{ channelId, epoch: 0n, cumulativeAmount: 1n }, voucher.signature], account: providerClients.account })
      .then(() => undefined, (e: unknown) => e);
    expect(revertName(error)).toBe("InvalidVoucherSignature");
  });

  it("refuses an impossible policy or a zero owner before creating anything", async () => {
    const agent = privateKeyToAccount(generatePrivateKey()).address;
    const factory = deployment().agentWalletFactory!;
    const count = await owner.public.getTransactionCount({ address: owner.account.address });
    for (const period of [0, 59, 400 * 86_400]) {
      await refusedWith(createAgentWallet(owner, deployment(), { agent, policy: defaultAgentPolicy(deployment(), { budget: UNIT, period }) }), "invalid_period");
    }
    await refusedWith(createAgentWallet(owner, deployment(), { agent, policy: defaultAgentPolicy(deployment(), { budget: UNIT, maxPerTransaction: 2n * UNIT }) }), "invalid_policy");
    await refusedWith(createAgentWallet(owner, deployment(), { owner: zeroAddress, agent, policy: defaultAgentPolicy(deployment(), { budget: UNIT }) }), "invalid_policy");
    expect(await owner.public.getTransactionCount({ address: owner.account.address }), "nothing was sent").toBe(count);

    // And the factory itself refuses them.
    const config = (ownerAddress: Address, period: bigint) => ({
      owner: ownerAddress,
      agent,
      agentExpiresAt: 0n,
      budgets: [{ token: token(), budget: UNIT, maxPerTransaction: UNIT, period }],
      calls: [],
      signatureVerifiers: [],
      refundCalls: [],
    });
    for (const [args, name] of [
      [config(zeroAddress, 3600n), "ZeroOwner"],
      [config(owner.account.address, 0n), "InvalidPeriod"],
    ] as const) {
      const error = await owner.public
        .simulateContract({ address: factory, abi: agentWalletFactoryAbi, functionName: "createWallet", args: [args, `0x${"11".repeat(32)}`], account: owner.account })
        .then(() => undefined, (e: unknown) => e);
      expect(revertName(error)).toBe(name);
    }
  });

  it("donates to a funding round within the budget", async () => {
    const qf = { address: deployment().quadraticFunding!, abi: QuadraticFundingArtifact.abi } as const;
    const now = (await owner.public.getBlock()).timestamp;
    await writeAndWait(owner, {
      ...qf,
      functionName: "createRound",
      args: [{ token: token(), applicationStart: now, applicationEnd: now + 3600n, donationStart: now, donationEnd: now + 7200n, matchingCapBps: 10_000, usageWeightBps: 0, donorCap: 0n, attestations: zeroAddress, issuers: [] }],
    });
    const roundId = (await owner.public.readContract({ ...qf, functionName: "roundCount" })) as bigint;
    await writeAndWait(net.creator, { ...qf, functionName: "applyProject", args: [roundId, net.modelId] });
    const { wallet, agentKey } = await newWallet({ budget: 10n * UNIT, maxPerTransaction: 5n * UNIT });
    const agent = await agentFor(wallet, agentKey);
    const donated = await agent.donate({ roundId, projectId: 1n, amount: 2n * UNIT });
    expect(donated.token.toLowerCase()).toBe(token().toLowerCase());
    expect(await spentOf(wallet)).toBe(2n * UNIT);
    await refusedWith(agent.donate({ roundId, projectId: 1n, amount: 6n * UNIT }), "over_transaction_cap");
    await refusedWith(agent.donate({ roundId: 999n, projectId: 1n, amount: UNIT }), "round_not_found");
    const project = (await owner.public.readContract({ ...qf, functionName: "getProject", args: [roundId, 1n] })) as { donations: { amount: bigint } };
    expect(project.donations.amount).toBe(2n * UNIT);

    // A round that is over and finalized: the funding contract's refusal bubbles up through the
    // wallet, whose ABI does not declare it, and still reaches the agent by name with its values
    // (it used to be the bare selector 0x23229f3a). Nothing is spent.
    const start = (await owner.public.getBlock()).timestamp;
    await writeAndWait(owner, {
      ...qf,
      functionName: "createRound",
      args: [{ token: token(), applicationStart: start, applicationEnd: start + 30n, donationStart: start, donationEnd: start + 60n, matchingCapBps: 10_000, usageWeightBps: 0, donorCap: 0n, attestations: zeroAddress, issuers: [] }],
    });
    const over = (await owner.public.readContract({ ...qf, functionName: "roundCount" })) as bigint;
    await writeAndWait(net.creator, { ...qf, functionName: "applyProject", args: [over, net.modelId] });
    await advanceTime(owner.public, 120);
    await writeAndWait(owner, { ...qf, functionName: "finalize", args: [over] });
    const spentBefore = await spentOf(wallet);
    const late = await agent.donate({ roundId: over, projectId: 1n, amount: UNIT }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isGotongError(late, "contract_revert"), String(late)).toBe(true);
    expect((late as Error).message).toMatch(new RegExp(`refused by QuadraticFunding: DonationWindowClosed\\(roundId=${over}, now=\\d+, start=${start}, end=${start + 60n}\\)`));
    expect((late as Error).message).not.toContain("0x23229f3a");
    expect((late as { hint?: string }).hint).toMatch(/not taking donations now/);
    expect(await spentOf(wallet)).toBe(spentBefore);
  });

  it("gives an agent an ERC-8004 identity bound to its wallet, and counts reviews only with a payment, by its weight", async () => {
    const seller = await newWallet();
    const sellerId = await registerAgentIdentity(owner, deployment(), { uri: "ipfs://seller.json", wallet: seller.wallet, agentKey: privateKeyToAccount(seller.agentKey) });
    const registry = { address: deployment().agentRegistry!, abi: AgentRegistryArtifact.abi } as const;
    expect(await owner.public.readContract({ ...registry, functionName: "getAgentWallet", args: [sellerId] })).toBe(seller.wallet);
    expect(await owner.public.readContract({ ...registry, functionName: "ownerOf", args: [sellerId] })).toBe(owner.account.address);

    // A buyer agent (another owner) reviews without paying: refused. After paying, the review counts.
    const buyerOwner = createClients({ rpcUrl: deployment().rpcUrl, chainId: deployment().chainId, account: privateKeyToAccount(generatePrivateKey()) });
    await fundOnDevnet(deployment(), buyerOwner.account.address, { tokens: 1_000n * UNIT });
    const buyer = await newWallet({}, buyerOwner);
    const agent = await agentFor(buyer.wallet, buyer.agentKey);
    const unpaid = await agent.review({ agentId: sellerId, value: 100 }).then(() => undefined, (e: unknown) => e);
    expect(String((unpaid as Error).message)).toContain("NoPaymentToCite");
    const before = await balanceOf(seller.wallet);
    const paid = await agent.payAgent({ agentId: sellerId, amount: 2n * UNIT, memo: "a translation" });
    expect(paid.paymentId).toBeGreaterThan(0n);
    expect((await balanceOf(seller.wallet)) - before).toBe(2n * UNIT - (2n * UNIT * BigInt(deployment().protocolFeeBps)) / 10_000n);
    await agent.review({ agentId: sellerId, value: 90 });
    const reputation = { address: deployment().agentReputation!, abi: AgentReputationArtifact.abi } as const;
    const [count, value, , weight] = (await owner.public.readContract({ ...reputation, functionName: "getPaidSummary", args: [sellerId, [], "", ""] })) as [bigint, bigint, number, bigint];
    expect([count, value, weight]).toEqual([1n, 90n, 2n * UNIT]);
  });

  it("resets the budget at the period boundary and not before", async () => {
    const { wallet, agentClients } = await newWallet({ budget: 4n * UNIT, maxPerTransaction: 4n * UNIT, period: 3600 });
    const merchant = privateKeyToAccount(generatePrivateKey()).address;
    const rpc = owner.public as PublicClient;
    const now = (await owner.public.getBlock()).timestamp;
    const boundary = (now / 3600n + 1n) * 3600n;
    expect(await rawExecute(agentClients, wallet, [transfer(merchant, 4n * UNIT)])).toEqual({ errorName: undefined, status: "success" });
    await rpc.request({ method: "evm_setNextBlockTimestamp" as never, params: [`0x${(boundary - 1n).toString(16)}`] as never });
    const late = await agentClients.wallet.writeContract({ address: wallet, abi: agentWalletAbi, functionName: "executeBatch", args: [[transfer(merchant, 1n)]], gas: 1_000_000n });
    const lateReceipt = await owner.public.waitForTransactionReceipt({ hash: late });
    expect((await owner.public.getBlock({ blockNumber: lateReceipt.blockNumber })).timestamp).toBe(boundary - 1n);
    expect(lateReceipt.status, "one second before the boundary: still the old period").toBe("reverted");
    await rpc.request({ method: "evm_setNextBlockTimestamp" as never, params: [`0x${boundary.toString(16)}`] as never });
    const onTime = await agentClients.wallet.writeContract({ address: wallet, abi: agentWalletAbi, functionName: "executeBatch", args: [[transfer(merchant, 4n * UNIT)]], gas: 1_000_000n });
    expect((await owner.public.waitForTransactionReceipt({ hash: onTime })).status, "at the boundary: a new budget").toBe("success");
    expect(await balanceOf(merchant)).toBe(8n * UNIT);
    const status = await readAgentWallet(owner.public, wallet);
    expect(status.budgets[0]!.periodStart).toBe(Number(boundary));
  });
});
