import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { erc20Abi, isAddressEqual, parseEventLogs, type Hex } from "viem";
import { PaymentChannelsArtifact, ProviderRegistryArtifact } from "../../src/chain/contracts.generated.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { advanceTime } from "../helpers/advanceTime.ts";
import { runGotong } from "../helpers/cli.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import { readCost } from "../helpers/readCost.ts";

/** A provider collects everything through the shipped CLI: earnings, then its stake after unbonding. */
describe("a provider collects its earnings and leaves, with the CLI only", () => {
  let net: ChatNetwork;
  let provider: RunningProvider & { key: Hex };
  let gateway: RunningGateway;
  const told: bigint[] = [];
  const gotong = (...args: string[]) => runGotong([...args, "--home", net.home.root]);
  const json = async (...args: string[]) => {
    const r = await gotong(...args, "--json");
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  /** The token transfers a transaction made, from `from` to `to`. */
  const transfers = async (hash: Hex, from: `0x${string}`, to: `0x${string}`) => {
    const receipt = await net.creator.public.getTransactionReceipt({ hash });
    const logs = receipt.logs.filter((l) => isAddressEqual(l.address, net.devnet.deployment.token.address));
    return parseEventLogs({ abi: erc20Abi, logs, eventName: "Transfer" }).filter((t) => isAddressEqual(t.args.from, from) && isAddressEqual(t.args.to, to)).map((t) => t.args.value);
  };

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
    // Where `gotong provider …` finds the default provider's key.
    writeFileSync(join(net.home.keys, "provider.key"), provider.key + "\n", { mode: 0o600 });
    gateway = await net.gateway();
  });
  afterAll(() => net?.stop());

  it("refuses to invent a provider or withdraw what was never earned", async () => {
    const unknown = await gotong("provider", "status", "--name", "nobody");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No provider key at .*providers\/nobody\/keys\/provider\.key/);
    const nothing = await gotong("provider", "withdraw", "--no-redeem");
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/has no earnings to withdraw/);
    expect(nothing.stderr).toMatch(/hint: /);
    const early = await gotong("provider", "exit");
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/Nothing is unbonding: \d+ base units are still staked/);
    expect(early.stderr).toContain("gotong provider unstake");
    const help = await gotong("provider", "exit", "--help");
    expect(help.stdout).toMatch(/^gotong provider exit/);
    expect(help.stdout).not.toContain("--upstream");
  });

  it("withdraws exactly its share of what it served, after redeeming the stored vouchers", async () => {
    for (const [i, prompt] of ["Once upon a time", "A cat", "The sun rose"].entries()) {
      const res = await postChat(gateway.baseUrl, net.model.name, prompt, { max_tokens: 8, stream: i === 1 });
      expect(res.status).toBe(200);
      const { cost } = await readCost(res);
      told.push(cost!);
    }
    const spent = told.reduce((a, b) => a + b, 0n);
    await gateway.settle();

    const before = (await json("provider", "status")) as { active: boolean; stake: string; offers: unknown[]; warnings: string[]; earnings: { redeemable: string; withdrawable: string } };
    expect(before.active).toBe(true);
    expect(before.offers).toHaveLength(1);
    expect(before.warnings).toEqual([]);
    expect(BigInt(before.earnings.redeemable)).toBe(spent);
    expect(before.earnings.withdrawable).toBe("0");

    const result = (await json("provider", "withdraw")) as { hash: Hex; amount: string; redeemedFirst: string };
    expect(BigInt(result.redeemedFirst)).toBe(spent);
    // What the contract credited the provider: the provider share of every redemption, to the base unit.
    const { deployment } = net.devnet;
    const redeemed = await net.creator.public.getContractEvents({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, eventName: "VoucherRedeemed", args: { provider: provider.address }, fromBlock: 0n });
    const share = redeemed.reduce((sum, e) => sum + e.args.providerShare!, 0n);
    expect(redeemed.reduce((sum, e) => sum + e.args.amount!, 0n)).toBe(spent);
    expect(share).toBeGreaterThan(0n);
    expect(BigInt(result.amount)).toBe(share);
    expect(await transfers(result.hash, deployment.paymentChannels, provider.address)).toEqual([share]);

    const after = (await json("provider", "status")) as { earnings: { redeemed: string; withdrawable: string; withdrawn: string; redeemable: string } };
    expect(after.earnings).toMatchObject({ redeemed: share.toString(), withdrawable: "0", withdrawn: share.toString(), redeemable: "0" });
  });

  it("unstakes (offers removed), is refused exit until unbonding ends, then withdraws the whole stake", async () => {
    const { deployment } = net.devnet;
    const registry = { address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi } as const;
    const staked = ((await net.creator.public.readContract({ ...registry, functionName: "getProvider", args: [provider.address] })) as { stake: bigint }).stake;
    expect(staked).toBeGreaterThan(0n);

    const unstake = (await json("provider", "unstake")) as { removedOffers: string[]; unstaking: string; readyAt: string; unstakeDelay: string };
    expect(unstake.removedOffers).toEqual([net.modelId.toString()]);
    expect(BigInt(unstake.unstaking)).toBe(staked);
    expect(await net.creator.public.readContract({ ...registry, functionName: "getOffers", args: [provider.address] })).toEqual([]);
    expect(await net.creator.public.readContract({ ...registry, functionName: "hasOffer", args: [provider.address, net.modelId] })).toBe(false);

    const status = (await json("provider", "status")) as { active: boolean; warnings: string[]; unbonding: { amount: string; ready: boolean } };
    expect(status.active).toBe(false);
    expect(status.unbonding).toMatchObject({ amount: staked.toString(), ready: false });
    expect(status.warnings.join("\n")).toMatch(/no stake .* gets no new traffic/);
    expect(status.warnings.join("\n")).toMatch(/no offer/);
    const text = await gotong("provider", "status");
    expect(text.stdout).toMatch(/^warning {4}no stake/m);

    const early = await gotong("provider", "exit");
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/unbonding until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(chain time, in (6d 23h|7d)/);

    await advanceTime(net.creator.public, BigInt(unstake.unstakeDelay));
    const exit = (await json("provider", "exit")) as { hash: Hex; amount: string };
    expect(BigInt(exit.amount)).toBe(staked);
    expect(await transfers(exit.hash, deployment.providerRegistry, provider.address)).toEqual([staked]);
    const again = await gotong("provider", "exit");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/Nothing is staked or unbonding/);
  });
});
