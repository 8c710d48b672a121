import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeEventLog, erc20Abi, type Address } from "viem";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { ModelRegistryArtifact, PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { createClients } from "../../src/chain/createClients.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { readChannel } from "../../src/payments/readChannel.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";

async function chat(baseUrl: string, model: string, content: string) {
  const res = await postChat(baseUrl, model, content, { max_tokens: 16 });
  expect(res.status).toBe(200);
  return { cost: BigInt(res.headers.get("x-gotong-cost")!), body: (await res.json()) as { choices: { message: { content: string } }[] } };
}

describe("paying for requests through a payment channel", () => {
  let net: ChatNetwork;
  let provider: RunningProvider;
  let gateway: RunningGateway;
  const pc = () => ({ address: net.devnet.deployment.paymentChannels, abi: PaymentChannelsArtifact.abi }) as const;
  const earnings = (who: Address) => net.creator.public.readContract({ ...pc(), functionName: "earnings", args: [who] }) as Promise<bigint>;
  const royalties = () => net.creator.public.readContract({ ...pc(), functionName: "modelEarnings", args: [net.modelId] }) as Promise<bigint>;

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
    gateway = await net.gateway();
  });
  afterAll(() => net?.stop());

  it("settles several requests in one redeem, split exactly between provider, model owner and funding pool", async () => {
    const { deployment } = net.devnet;
    const costs: bigint[] = [];
    for (const prompt of ["One day", "A cat", "The sun", "Lily went"]) costs.push((await chat(gateway.baseUrl, net.model.name, prompt)).cost);
    const total = costs.reduce((a, b) => a + b, 0n);
    await gateway.settle(); // the voucher for the last request, sent without waiting for a next one

    const creator = net.creator.account.address;
    const before = { provider: await earnings(provider.address), model: await royalties(), pool: await earnings(deployment.fundingPool) };
    const result = await provider.redeemer.redeemNow();
    expect(result.transactionHash).toBeDefined();
    expect(result.amount).toBe(total);

    const receipt = await net.creator.public.getTransactionReceipt({ hash: result.transactionHash! });
    const redeemed = receipt.logs
      .filter((l) => l.address.toLowerCase() === deployment.paymentChannels.toLowerCase())
      .map((l) => decodeEventLog({ abi: PaymentChannelsArtifact.abi, data: l.data, topics: l.topics }))
      .filter((e) => e.eventName === "VoucherRedeemed");
    expect(redeemed).toHaveLength(1);

    const royalty = (total * 1000n) / 10_000n; // the chat model is published at 1000 bps
    const fee = (total * BigInt(deployment.protocolFeeBps)) / 10_000n;
    const after = { provider: await earnings(provider.address), model: await royalties(), pool: await earnings(deployment.fundingPool) };
    expect(after.model - before.model).toBe(royalty);
    expect(after.pool - before.pool).toBe(fee);
    expect(after.provider - before.provider).toBe(total - royalty - fee);

    // Redeeming again pays nothing more: no voucher pays twice.
    const again = await provider.redeemer.redeemNow();
    expect(again.amount).toBe(0n);

    // Royalties leave the contract as real tokens, to the model's owner.
    const balance = () => net.creator.public.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [creator] });
    const balanceBefore = await balance();
    await writeAndWait(net.creator, { ...pc(), functionName: "withdrawModelEarnings", args: [net.modelId, creator] });
    expect((await balance()) - balanceBefore).toBe(after.model);
    expect(await royalties()).toBe(0n);
  });

  it("pays later royalties to whoever owns the model's token now", async () => {
    const { deployment } = net.devnet;
    const newOwnerKey = generatePrivateKey();
    const newOwner = privateKeyToAccount(newOwnerKey).address;
    await writeAndWait(net.creator, {
      address: deployment.modelRegistry,
      abi: ModelRegistryArtifact.abi,
      functionName: "transferFrom",
      args: [net.creator.account.address, newOwner, net.modelId],
    });
    const cost = (await chat(gateway.baseUrl, net.model.name, "Once")).cost;
    await gateway.settle();
    const result = await provider.redeemer.redeemNow();
    expect(result.amount).toBe(cost);
    const royalty = (cost * 1000n) / 10_000n;
    expect(await royalties()).toBe(royalty);

    // The old owner can no longer take them; the new owner can.
    await expect(writeAndWait(net.creator, { ...pc(), functionName: "withdrawModelEarnings", args: [net.modelId, net.creator.account.address] })).rejects.toMatchObject({
      message: expect.stringContaining("NotModelOwner"),
    });
    await fundOnDevnet(deployment, newOwner, {});
    const owner = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(newOwnerKey) });
    await writeAndWait(owner, { ...pc(), functionName: "withdrawModelEarnings", args: [net.modelId, newOwner] });
    const received = await net.creator.public.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [newOwner] });
    expect(received).toBe(royalty);
  });

  it("keeps the channel's books equal on both sides", async () => {
    const channel = gateway.store.listChannels()[0]!;
    const onchain = await readChannel(net.creator.public, net.devnet.deployment.paymentChannels, channel.channelId);
    expect(onchain.redeemed).toBe(channel.spent);
    const owed = provider.store.getChannel(channel.channelId, channel.epoch).owed;
    expect(owed).toBe(channel.spent);
  });
});
