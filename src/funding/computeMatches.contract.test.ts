import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { erc20Abi, keccak256, toHex, type Address, type Hex, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createClients, type ChainClients } from "../chain/createClients.ts";
import { ModelRegistryArtifact, PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { fundOnDevnet } from "../chain/fundOnDevnet.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { channelIdOf } from "../protocol/channelId.ts";
import { signVoucher } from "../protocol/voucher.ts";
import { ensureProviderRegistered } from "../provider/ensureProviderRegistered.ts";
import { advanceTime } from "../../test/helpers/advanceTime.ts";
import { startTestNetwork, type TestNetwork } from "../../test/helpers/network.ts";
import { applyToRound } from "./applyToRound.ts";
import { computeMatches } from "./computeMatches.ts";
import { createRound } from "./createRound.ts";
import { donate } from "./donate.ts";
import { fundingContract } from "./fundingContract.ts";
import { fundPool } from "./fundPool.ts";
import { readProjects, readRound } from "./readRound.ts";
import { tallyOf } from "./tally.ts";

const ROUNDS = 16;

/**
 * Random rounds run on a real chain against the deployed QuadraticFunding, and the TypeScript
 * reference computed independently from every donor's and payer's raw totals (kept by the test,
 * not read from the contract): every tally, weight and match must be equal, integer for integer.
 */
describe("QuadraticFunding on-chain equals the TypeScript reference", () => {
  let net: TestNetwork;
  let provider: ChainClients;
  const accounts: ChainClients[] = [];
  const modelIds: bigint[] = [];

  beforeAll(async () => {
    net = await startTestNetwork();
    const { deployment } = net.devnet;
    const client = (key: Hex) => createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(key) });
    for (let i = 0; i < 2; i++) {
      const weights = keccak256(toHex(`reference-model-${i}`));
      const { result } = await writeAndWait(net.creator, { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "register", args: [`ref-${i}`, weights, weights, "", 500] });
      modelIds.push(result as bigint);
    }
    provider = client(generatePrivateKey());
    await fundOnDevnet(deployment, provider.account.address, { tokens: 1_000_000_000n });
    await ensureProviderRegistered(provider, deployment, {
      endpoint: "http://127.0.0.1:1",
      hpkePublicKey: `0x${"22".repeat(32)}`,
      offers: modelIds.map((modelId) => ({ modelId, price: { pricePerMillionInput: 1n, pricePerMillionOutput: 1n }, capabilities: ["chat"] })),
    });
    // 8 accounts that donate, pay for inference and apply as labs.
    for (let i = 0; i < 8; i++) {
      const c = client(generatePrivateKey());
      await fundOnDevnet(deployment, c.account.address, { tokens: 10n ** 30n });
      accounts.push(c);
    }
  });
  afterAll(() => net?.stop());

  /** The payer pays `amount` for inference of `modelId`: open or top up, then the provider redeems. */
  async function payInference(payer: ChainClients, modelId: bigint, amount: bigint): Promise<void> {
    const { deployment } = net.devnet;
    const pc = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
    const channelId = channelIdOf(payer.account.address, provider.account.address, modelId, 0n);
    await writeAndWait(payer, { address: deployment.token.address, abi: erc20Abi, functionName: "approve", args: [deployment.paymentChannels, amount] });
    const before = await payer.public.readContract({ ...pc, functionName: "getChannel", args: [channelId] });
    if (before.deposit === 0n) await writeAndWait(payer, { ...pc, functionName: "open", args: [provider.account.address, modelId, 0n, amount] });
    else await writeAndWait(payer, { ...pc, functionName: "topUp", args: [channelId, amount] });
    const voucher = { channelId, epoch: BigInt(before.epoch), cumulativeAmount: before.redeemed + amount };
    const signed = await signVoucher(payer.account as never, { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels }, voucher);
    await writeAndWait(provider, { ...pc, functionName: "redeem", args: [voucher, signed.signature] });
  }

  it(`gives the same tallies, weights and matches for ${ROUNDS} random rounds`, async () => {
    const { deployment } = net.devnet;
    const qf = fundingContract(deployment);
    const amount = fc.oneof(fc.bigInt({ min: 1n, max: 100n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 24n }));
    const scenario = fc.record({
      matchingCapBps: fc.oneof(fc.constant(10_000), fc.integer({ min: 1, max: 10_000 })),
      usageWeightBps: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10_000 })),
      donorCap: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 13n })),
      labs: fc.integer({ min: 0, max: 3 }),
      donations: fc.array(fc.record({ project: fc.nat(), donor: fc.nat({ max: 4 }), amount }), { minLength: 4, maxLength: 24 }),
      payments: fc.array(fc.record({ model: fc.nat({ max: 1 }), payer: fc.nat({ max: 7 }), amount: fc.bigInt({ min: 1n, max: 10n ** 9n }) }), { maxLength: 6 }),
      pool: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 27n })),
    });
    const scenarios = fc.sample(scenario, { numRuns: ROUNDS, seed: 20_251_122 });
    // What the rounds exercised, so a quiet generator cannot make the comparison vacuous.
    const seen = { donationMatches: 0, usageMatches: 0, cappedRounds: 0, donorCappedRounds: 0, dust: 0n };

    for (const s of scenarios) {
      const roundId = await createRound(accounts[0]!, deployment, {
        donateFor: 3_600n,
        matchingCapBps: s.matchingCapBps,
        usageWeightBps: s.usageWeightBps,
        donorCap: s.donorCap,
      });
      // Projects: both models (owned by the creator), then some labs applying as their address.
      for (const modelId of modelIds) await applyToRound(net.creator, deployment, { roundId, modelId });
      for (let i = 0; i < s.labs; i++) await applyToRound(accounts[i]!, deployment, { roundId });
      const projectCount = modelIds.length + s.labs;

      // Raw totals, kept here: per project, per donor (address) and per payer.
      const donated = Array.from({ length: projectCount }, () => new Map<Address, bigint>());
      const used = Array.from({ length: projectCount }, () => new Map<Address, bigint>());
      for (const d of s.donations) {
        const project = d.project % projectCount;
        const donor = accounts[d.donor]!;
        const credited = await donate(donor, deployment, { roundId, projectId: BigInt(project + 1), amount: d.amount });
        expect(credited).toBe(d.amount);
        donated[project]!.set(donor.account.address, (donated[project]!.get(donor.account.address) ?? 0n) + d.amount);
      }
      if (s.usageWeightBps > 0) {
        for (const p of s.payments) {
          const payer = accounts[p.payer]!;
          await payInference(payer, modelIds[p.model]!, p.amount);
          used[p.model]!.set(payer.account.address, (used[p.model]!.get(payer.account.address) ?? 0n) + p.amount);
        }
        const channels = accounts.flatMap((a) => modelIds.map((m) => channelIdOf(a.account.address, provider.account.address, m, 0n)));
        await writeAndWait(accounts[0]!, { ...qf, functionName: "recordUsage", args: [roundId, channels] });
      }
      if (s.pool > 0n) await fundPool(accounts[0]!, deployment, { roundId, amount: s.pool });

      const round0 = await readRound(net.creator.public, deployment, roundId);
      await advanceTime(net.creator.public, round0.donationEnd - round0.donationStart);
      await writeAndWait(accounts[1]!, { ...qf, functionName: "finalize", args: [roundId] });

      const round = await readRound(net.creator.public, deployment, roundId);
      const projects = await readProjects(net.creator.public, deployment, round);
      const reference = {
        donations: donated.map((m) => tallyOf(m.values(), s.donorCap)),
        usage: used.map((m) => tallyOf(m.values(), s.donorCap)),
      };
      const expected = computeMatches({
        pool: s.pool,
        matchingCapBps: s.matchingCapBps,
        usageWeightBps: s.usageWeightBps,
        projects: reference.donations.map((donations, i) => ({ donations, usage: reference.usage[i]! })),
      });
      seen.donationMatches += expected.projects.filter((p) => p.donationMatch > 0n).length;
      seen.usageMatches += expected.projects.filter((p) => p.usageMatch > 0n).length;
      if (s.matchingCapBps < 10_000 && expected.projects.some((p) => p.donationMatch === (expected.donationPool * BigInt(s.matchingCapBps)) / 10_000n && p.donationMatch > 0n)) seen.cappedRounds++;
      if (s.donorCap > 0n && s.donations.length > 0) seen.donorCappedRounds++;
      if (s.matchingCapBps === 10_000) seen.dust += expected.unallocated;
      for (let i = 0; i < projectCount; i++) {
        expect(projects[i]!.donations, `round ${roundId} project ${i + 1} donations`).toEqual(reference.donations[i]);
        expect(projects[i]!.usage, `round ${roundId} project ${i + 1} usage`).toEqual(reference.usage[i]);
        const [donationMatch, usageMatch] = await net.creator.public.readContract({ ...qf, functionName: "matchOf", args: [roundId, BigInt(i + 1)] });
        expect({ donationMatch, usageMatch }, `round ${roundId} project ${i + 1} match`).toEqual({
          donationMatch: expected.projects[i]!.donationMatch,
          usageMatch: expected.projects[i]!.usageMatch,
        });
      }
      expect({ donationWeight: round.donationWeight, usageWeight: round.usageWeight, donationPool: round.donationPool, usagePool: round.usagePool, unallocated: round.unallocated }).toEqual({
        donationWeight: expected.donationWeight,
        usageWeight: expected.usageWeight,
        donationPool: expected.donationPool,
        usagePool: expected.usagePool,
        unallocated: expected.unallocated,
      });
    }
    expect(seen.donationMatches).toBeGreaterThan(3);
    expect(seen.usageMatches).toBeGreaterThan(0);
    expect(seen.cappedRounds).toBeGreaterThan(0);
    expect(seen.donorCappedRounds).toBeGreaterThan(0);
  });
});
