import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { erc20Abi, getAddress, parseEventLogs, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ModelRegistryArtifact } from "../../src/chain/contracts.generated.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { cliInHome } from "../helpers/cliInHome.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import { readCost } from "../helpers/readCost.ts";

type RoyaltiesJson = { modelId: string; ownedNow: boolean; owner: string; accrued: string; accruedWhileYouOwned: string; accruedBeforeYou: string; cameWithToken: string; withdrawnByYou: string; withdrawable: string };
type Split = { paid: string; royalty: string; fee: string; providerShare: string };
type EarningsJson = {
  accounts: { role: string; address: string; withdrawable: string; withdrawn: string; royalties: RoyaltiesJson[]; provider: { earned: string; withdrawable: string; withdrawn: string; channels: (Split & { channelId: string })[] }; paid: Split & { channels: unknown[] } }[];
  protocolFees: { feeBps: number; credited: string; collected: string; pending: string };
  network: Split;
};

/**
 * A creator collects royalties with the shipped CLI only, and a buyer of the model's token collects
 * what accrued after the transfer. Every amount is checked against the ERC-20 `Transfer` the
 * contract emitted, to the base unit, and against the royalty computed here from what was redeemed.
 */
describe("a creator collects royalties, and a new owner collects what accrued after the transfer", () => {
  let net: ChatNetwork;
  let provider: RunningProvider & { key: Hex };
  let gateway: RunningGateway & { key: Hex };
  let creator: Address;
  const buyerKey = generatePrivateKey();
  const buyer = privateKeyToAccount(buyerKey).address;
  let buyerKeyFile: string;
  let royaltyBps: bigint;
  let feeBps: bigint;

  const cli = () => cliInHome(net.home.root);
  const gotong = (...args: string[]) => cli().gotong(...args);
  const json = <T>(...args: string[]) => cli().json<T>(...args);
  /** Paid requests, then the gateway's last voucher and the provider's redeem; returns what was redeemed. */
  const payAndRedeem = async (...prompts: string[]) => {
    for (const prompt of prompts) {
      const res = await postChat(gateway.baseUrl, net.model.name, prompt, { max_tokens: 6 });
      expect(res.status).toBe(200);
      expect((await readCost(res)).cost).toBeGreaterThan(0n);
    }
    await gateway.settle();
    const { amount } = await provider.redeemer.redeemNow();
    expect(amount).toBeGreaterThan(0n);
    return amount;
  };
  /** The royalty PaymentChannels credits for one redemption of `amount` (one channel, so one split). */
  const royaltyOf = (amount: bigint) => (amount * royaltyBps) / 10_000n;
  /** The token's `Transfer`s to `to` in transaction `hash`. */
  const tokenTransfers = async (hash: Hex, to: Address) => {
    const receipt = await net.creator.public.getTransactionReceipt({ hash });
    return parseEventLogs({ abi: erc20Abi, eventName: "Transfer", logs: receipt.logs })
      .filter((log) => log.address.toLowerCase() === net.devnet.deployment.token.address.toLowerCase() && log.args.to === to)
      .map((log) => ({ from: getAddress(log.args.from), value: log.args.value }));
  };
  const ownerOf = (modelId: bigint) => net.creator.public.readContract({ address: net.devnet.deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "ownerOf", args: [modelId] });
  const royaltiesOf = (earnings: EarningsJson, role: string) => earnings.accounts.find((a) => a.role === role)!.royalties.find((m) => m.modelId === net.modelId.toString())!;

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path);
    gateway = await net.gateway();
    creator = net.creator.account.address;
    // Where the CLI looks for this folder's keys by default.
    writeFileSync(join(net.home.keys, "creator.key"), net.creatorKey + "\n", { mode: 0o600 });
    writeFileSync(join(net.home.keys, "provider.key"), provider.key + "\n", { mode: 0o600 });
    writeFileSync(join(net.home.keys, "gateway.key"), gateway.key + "\n", { mode: 0o600 });
    buyerKeyFile = join(net.home.root, "buyer.key");
    writeFileSync(buyerKeyFile, buyerKey + "\n", { mode: 0o600 });
    royaltyBps = 1000n; // startChatNetwork publishes at 1000 bps
    feeBps = BigInt(net.devnet.deployment.protocolFeeBps);
  });
  afterAll(() => net?.stop());

  it("shows every party's share in `gotong earnings`, and the creator withdraws exactly its royalties", async () => {
    const paid = await payAndRedeem("Once upon a time", "A cat sat");
    const r1 = royaltyOf(paid);
    const fee = (paid * feeBps) / 10_000n;
    expect(r1).toBeGreaterThan(0n);

    const earnings = await json<EarningsJson>("earnings");
    expect(earnings.accounts.map((a) => a.role)).toEqual(["gateway", "creator", "provider"]);
    expect(royaltiesOf(earnings, "creator")).toMatchObject({ ownedNow: true, accrued: `${r1}`, accruedWhileYouOwned: `${r1}`, cameWithToken: "0", withdrawnByYou: "0", withdrawable: `${r1}` });
    const asProvider = earnings.accounts.find((a) => a.role === "provider")!.provider;
    expect(asProvider).toMatchObject({ earned: `${paid - r1 - fee}`, withdrawable: `${paid - r1 - fee}`, withdrawn: "0" });
    expect(asProvider.channels).toHaveLength(1);
    expect(asProvider.channels[0]).toMatchObject({ paid: `${paid}`, royalty: `${r1}`, fee: `${fee}`, providerShare: `${paid - r1 - fee}` });
    expect(earnings.accounts.find((a) => a.role === "gateway")!.paid).toMatchObject({ paid: `${paid}`, royalty: `${r1}`, fee: `${fee}`, providerShare: `${paid - r1 - fee}` });
    expect(earnings.network).toEqual({ paid: `${paid}`, royalty: `${r1}`, fee: `${fee}`, providerShare: `${paid - r1 - fee}` });
    expect(earnings.protocolFees).toMatchObject({ credited: `${fee}`, pending: `${fee}`, collected: "0" });

    const table = await gotong("earnings");
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`withdrawable now +0\\.\\d+ \\w+ \\(${r1}\\) +→ gotong model withdraw ${net.modelId}`));
    expect(table.stdout).toContain(`= royalty ${r1} + protocol fee ${fee} + provider ${paid - r1 - fee}`);

    const withdrawn = await json<{ total: string; withdrawals: { modelId: string; amount: string; to: string; transactionHash: Hex }[] }>("model", "withdraw", `${net.modelId}`);
    expect(withdrawn.total).toBe(`${r1}`);
    expect(withdrawn.withdrawals).toEqual([{ modelId: `${net.modelId}`, amount: `${r1}`, to: creator, transactionHash: expect.any(String) }]);
    expect(await tokenTransfers(withdrawn.withdrawals[0]!.transactionHash, creator)).toEqual([{ from: getAddress(net.devnet.deployment.paymentChannels), value: r1 }]);

    const again = await gotong("model", "withdraw", `${net.modelId}`);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no royalties to withdraw/);
    const after = royaltiesOf(await json<EarningsJson>("earnings"), "creator");
    expect(after).toMatchObject({ withdrawnByYou: `${r1}`, withdrawable: "0" });
  });

  it("refuses a transfer that would give pending royalties away unless told, then withdraws first when asked", async () => {
    const r2 = royaltyOf(await payAndRedeem("The sun rose"));
    const refused = await gotong("model", "transfer", `${net.modelId}`, buyer);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`(${r2}) of unwithdrawn royalties. They travel with the token`);
    expect(refused.stderr).toMatch(/hint: Pass --withdraw-first .* or --yes/);
    expect(await ownerOf(net.modelId)).toBe(creator);

    // The buyer needs gas later: the devnet's faucet, through the CLI.
    const funded = await json<{ address: string; ether: string; tokens: string }>("devnet", "fund", buyer, "--eth", "1");
    expect(funded).toMatchObject({ address: buyer, ether: `${10n ** 18n}`, tokens: "0" });

    const moved = await json<{ to: string; withdrawn: { amount: string; transactionHash: Hex } | null; royaltiesTransferred: string }>("model", "transfer", `${net.modelId}`, buyer, "--withdraw-first");
    expect(moved).toMatchObject({ to: buyer, withdrawn: { amount: `${r2}` }, royaltiesTransferred: "0" });
    expect(await tokenTransfers(moved.withdrawn!.transactionHash, creator)).toEqual([{ from: getAddress(net.devnet.deployment.paymentChannels), value: r2 }]);
    expect(await ownerOf(net.modelId)).toBe(buyer);
  });

  it("lets the new owner withdraw exactly what accrued after the transfer", async () => {
    const before = royaltiesOf(await json<EarningsJson>("earnings"), "creator");
    const r3 = royaltyOf(await payAndRedeem("Lily went", "Tom and Sue"));

    const earnings = await json<EarningsJson>("earnings", "--key", buyerKeyFile);
    expect(earnings.accounts).toHaveLength(1);
    const mine = earnings.accounts[0]!.royalties[0]!;
    expect(mine).toMatchObject({ ownedNow: true, accruedWhileYouOwned: `${r3}`, accruedBeforeYou: before.accrued, cameWithToken: "0", withdrawable: `${r3}` });
    // The old owner's view: it no longer owns the model, and what accrued since is not counted as its.
    expect(royaltiesOf(await json<EarningsJson>("earnings"), "creator")).toMatchObject({ ownedNow: false, owner: buyer, accruedWhileYouOwned: before.accruedWhileYouOwned, withdrawable: `${r3}` });

    const refused = await gotong("model", "withdraw", `${net.modelId}`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`owned by ${buyer}`));

    const withdrawn = await json<{ total: string; withdrawals: { amount: string; to: string; transactionHash: Hex }[] }>("model", "withdraw", "--all", "--key", buyerKeyFile);
    expect(withdrawn.total).toBe(`${r3}`);
    expect(await tokenTransfers(withdrawn.withdrawals[0]!.transactionHash, buyer)).toEqual([{ from: getAddress(net.devnet.deployment.paymentChannels), value: r3 }]);
    const balance = await json<{ accounts: { address: string; token: string; native: string }[] }>("balance", buyer);
    expect(balance.accounts).toEqual([{ role: "address", address: buyer, token: `${r3}`, native: expect.any(String) }]);
  });

  it("with --yes, transfers pending royalties with the token, and the receiver sees them as come with it", async () => {
    const r4 = royaltyOf(await payAndRedeem("A dog ran"));
    const moved = await json<{ royaltiesTransferred: string; withdrawn: unknown }>("model", "transfer", `${net.modelId}`, creator, "--yes", "--key", buyerKeyFile);
    expect(moved).toMatchObject({ royaltiesTransferred: `${r4}`, withdrawn: null });
    const back = royaltiesOf(await json<EarningsJson>("earnings"), "creator");
    expect(back).toMatchObject({ ownedNow: true, cameWithToken: `${r4}`, withdrawable: `${r4}` });
    expect(BigInt(back.withdrawnByYou)).toBe(BigInt(back.accruedWhileYouOwned)); // r1 + r2, all taken out before the sale
  });
});
