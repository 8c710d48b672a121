import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { erc20Abi, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PaymentChannelsArtifact, QuadraticFundingArtifact } from "../../src/chain/contracts.generated.ts";
import { createClients } from "../../src/chain/createClients.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { readRound } from "../../src/funding/readRound.ts";
import { registerModel } from "../../src/model/registerModel.ts";
import { generateTestModel, TEST_MODEL_FILE_NAME } from "../../src/model/generateTestModel.ts";
import { sharedModel } from "../fixtures/model/sharedModels.ts";
import { advanceTime } from "../helpers/advanceTime.ts";
import { runGotong } from "../helpers/cli.ts";
import { cliInHome } from "../helpers/cliInHome.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import type { RunningGateway } from "../../src/gateway/startGateway.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";

/** What `gotong fund round status --json` prints (the fields this test reads). */
type StatusJson = {
  phase: string;
  protocolRound: boolean;
  pendingProtocolFees: string;
  pool: string;
  estimate: boolean;
  usagePool: string;
  donationPool: string;
  unallocated: string;
  projects: {
    projectId: number;
    modelId: string | null;
    claimant: Address;
    donated: string;
    donors: number;
    usage: string;
    pendingUsage: string;
    payers: number;
    donationMatch: string;
    usageMatch: string;
    match: string;
    payout: string;
    claimed: boolean;
  }[];
};

async function chat(baseUrl: string, model: string, content: string) {
  const res = await postChat(baseUrl, model, content, { max_tokens: 16 });
  expect(res.status).toBe(200);
  await res.json();
  return BigInt(res.headers.get("x-gotong-cost")!);
}

/**
 * The whole funding story on a real devnet, through the `gotong fund` command line: a round fed by
 * the protocol fee over two models; paid chat requests through two gateways raise its pool and
 * count as usage; donors donate; the round finalizes and both creators claim exactly what `status`
 * promised, and nobody else can.
 */
describe("quadratic funding fed by paid inference", () => {
  let net: ChatNetwork;
  const cli = () => cliInHome(net.home.root);
  const gotong = (...args: string[]) => cli().gotong(...args);
  const json = <T>(...args: string[]) => cli().json<T>(...args);
  const models: { id: bigint; name: string; creatorKeyFile: string; creator: Address; provider?: RunningProvider }[] = [];
  const gateways: RunningGateway[] = [];
  const donorKeyFiles: string[] = [];
  let skip = false;

  beforeAll(async () => {
    net = await startChatNetwork();
    const { deployment } = net.devnet;
    const keyFile = (name: string, key: Hex) => {
      const path = join(net.home.root, `${name}.key`);
      writeFileSync(path, key + "\n", { mode: 0o600 });
      return path;
    };

    // Two models by two creators: a real small one when present, and the generated test model.
    const first = net.model;
    const second = first.real
      ? { path: (await generateTestModel(join(net.home.models, TEST_MODEL_FILE_NAME))).path, name: "gotong-test-model" }
      : sharedModel("tinyRandom") && { path: sharedModel("tinyRandom")!, name: "llama-2-tiny-random" };
    if (!second) {
      skip = true;
      return;
    }
    const creator2Key = generatePrivateKey();
    await fundOnDevnet(deployment, privateKeyToAccount(creator2Key).address, {});
    const creator2 = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(creator2Key) });
    const idA = net.modelId;
    const { modelId: idB } = await registerModel(creator2, deployment, { path: second.path, name: second.name, royaltyBps: 500, manifestsDir: net.home.manifests });
    models.push({ id: idA, name: first.name, creatorKeyFile: keyFile("creator-a", net.creatorKey), creator: net.creator.account.address });
    models.push({ id: idB, name: second.name, creatorKeyFile: keyFile("creator-b", creator2Key), creator: creator2.account.address });
    models[0]!.provider = await net.provider(first.path, { modelId: idA });
    models[1]!.provider = await net.provider(second.path, { modelId: idB });
    // Two gateways: two distinct payers.
    gateways.push(await net.gateway(), await net.gateway());
    for (let i = 0; i < 4; i++) donorKeyFiles.push(keyFile(`donor-${i}`, generatePrivateKey()));
  });
  afterAll(() => net?.stop());

  // About 20 `gotong` commands run one after another, each a cold Node + tsx start: 3 s each on an
  // idle machine, 10-15 s on a loaded 2-core one. The suite's 2-minute default is a budget for one
  // request's worth of work, not for this: give it one that fits the work on a busy machine.
  it("runs a round from the protocol fee to the creators' claims", { timeout: 600_000 }, async (ctx) => {
    if (skip) ctx.skip();
    const { deployment } = net.devnet;
    const [a, b] = models as [(typeof models)[0], (typeof models)[0]];

    // The operator opens a one-hour round fed by the protocol fee, 30% of it matched by usage, with
    // a 10-token pool of its own.
    const created = await json<{ roundId: string; protocolFees: boolean; pool: string }>(
      "fund", "round", "create", "--donate-for", "1h", "--usage-weight-bps", "3000", "--protocol-fees", "--pool", "10",
    );
    expect(created).toMatchObject({ roundId: "1", protocolFees: true, pool: "10000000" });
    const round = created.roundId;
    expect((await json<{ projectId: string }>("fund", "round", "apply", round, "--model", String(a.id), "--key", a.creatorKeyFile)).projectId).toBe("1");
    expect((await json<{ projectId: string }>("fund", "round", "apply", round, "--model", String(b.id), "--key", b.creatorKeyFile)).projectId).toBe("2");
    // A stranger cannot apply with someone else's model.
    const stolen = await gotong("fund", "round", "apply", round, "--model", String(a.id), "--key", donorKeyFiles[0]!);
    expect(stolen.code).toBe(1);
    expect(stolen.stderr).toMatch(/NotModelOwner/);

    // Paid chat: model A through both gateways (two payers), model B through one.
    let paid = 0n;
    for (const gateway of gateways) paid += await chat(gateway.baseUrl, a.name, "Once upon a time");
    paid += await chat(gateways[0]!.baseUrl, a.name, "The cat");
    paid += await chat(gateways[0]!.baseUrl, b.name, "Hello");
    for (const gateway of gateways) await gateway.settle();
    const fees = () => net.creator.public.readContract({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "earnings", args: [deployment.quadraticFunding!] });
    expect(await fees()).toBe(0n);
    let redeemed = 0n;
    for (const m of models) redeemed += (await m.provider!.redeemer.redeemNow()).amount;
    expect(redeemed).toBe(paid);
    const fee = await fees();
    // The 2% protocol fee, rounded down once per redeemed channel.
    expect(fee).toBeLessThanOrEqual((paid * 200n) / 10_000n);
    expect(fee).toBeGreaterThan((paid * 200n) / 10_000n - 3n);
    expect(fee).toBeGreaterThan(0n);

    // `status` already counts the fee and the usage, before anyone collects or records them.
    const before = await json<StatusJson>("fund", "round", "status", round);
    expect(before).toMatchObject({ phase: "open", protocolRound: true, estimate: true, pendingProtocolFees: String(fee), pool: String(10_000_000n + fee) });
    expect(before.projects.map((p) => [p.pendingUsage !== "0", p.payers])).toEqual([
      [true, 2],
      [true, 1],
    ]);

    // The paid requests raise the round's matching pool by exactly the fee.
    expect((await json<{ collected: string }>("fund", "collect")).collected).toBe(String(fee));
    const collected = await json<StatusJson>("fund", "round", "status", round);
    expect(collected.pool).toBe(String(10_000_000n + fee));
    expect(collected.pendingProtocolFees).toBe("0");

    // Donations: two donors for each; a zero and a project not in the round are refused.
    for (const [i, project, amount] of [[0, "1", "2"], [1, "1", "3"], [2, "2", "0.5"], [3, "2", "20"]] as const) {
      const out = await json<{ amount: string }>("fund", "round", "donate", round, project, amount, "--key", donorKeyFiles[i]!);
      expect(out.amount).toBe(String(BigInt(Math.round(Number(amount) * 1e6))));
    }
    const zero = await gotong("fund", "round", "donate", round, "1", "0", "--key", donorKeyFiles[0]!);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(/AMOUNT must be above zero/);
    const negative = await runGotong(["fund", "round", "donate", round, "1", "--key", donorKeyFiles[0]!, "--home", net.home.root, "--", "-5"]);
    expect(negative.code).toBe(1);
    expect(negative.stderr).toMatch(/not a non-negative decimal amount/);
    const missing = await gotong("fund", "round", "donate", round, "3", "1", "--key", donorKeyFiles[0]!);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ProjectNotInRound\(roundId=1, projectId=3\)/);
    expect(missing.stderr).toMatch(/hint: /);

    const live = await json<StatusJson>("fund", "round", "status", round);
    expect(live.projects.map((p) => [p.donated, p.donors])).toEqual([
      ["5000000", 2],
      ["20500000", 2],
    ]);
    // Finalizing early is refused.
    const early = await gotong("fund", "round", "finalize", round);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/still taking donations/);

    // The window closes; a late donation is refused with the window in the error.
    await advanceTime(net.creator.public, 3600);
    const late = await gotong("fund", "round", "donate", round, "1", "1", "--key", donorKeyFiles[0]!);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/DonationWindowClosed/);
    const estimate = await json<StatusJson>("fund", "round", "status", round);

    // Finalize: counts the pending usage first, fixes the pool, computes the matches.
    const final = await json<{ usageRecorded: string; pool: string; allocated: string; unallocated: string }>("fund", "round", "finalize", round);
    expect(final.usageRecorded).toBe(String(paid));
    expect(final.pool).toBe(estimate.pool);
    const twice = await gotong("fund", "round", "finalize", round);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/already finalized/);

    // A donation to the finalized round: the refusal is decoded by contract, name and values, never
    // shown as the bare selector 0x23229f3a, and says what to do.
    const finalized = await readRound(net.creator.public, deployment, BigInt(round));
    const afterFinal = await gotong("fund", "round", "donate", round, "1", "1", "--key", donorKeyFiles[1]!);
    expect(afterFinal.code).toBe(1);
    expect(afterFinal.stderr).toMatch(
      new RegExp(`donate was refused by QuadraticFunding: DonationWindowClosed\\(roundId=${round}, now=\\d+, start=${finalized.donationStart}, end=${finalized.donationEnd}\\)`),
    );
    expect(afterFinal.stderr).not.toMatch(/0x23229f3a/);
    expect(afterFinal.stderr).toMatch(/hint: The round is not taking donations now/);

    // The final matches are what `status` estimated before finalizing.
    const done = await json<StatusJson>("fund", "round", "status", round);
    expect(done.phase).toBe("finalized");
    expect(done.estimate).toBe(false);
    expect(done.projects.map((p) => [p.donationMatch, p.usageMatch])).toEqual(estimate.projects.map((p) => [p.donationMatch, p.usageMatch]));
    const table = await gotong("fund", "round", "status", round);
    expect(table.stdout).toMatch(/round 1 — finalized/);
    expect(table.stdout).toMatch(new RegExp(`#1 model ${a.id}`));
    const [pa, pb] = done.projects as [StatusJson["projects"][0], StatusJson["projects"][0]];
    // Donation weights: A (√2 + √3)² − 5 = 2√6, B (√0.5 + √20)² − 20.5 = 2√10: B's share is larger.
    expect(BigInt(pb.donationMatch)).toBeGreaterThan(BigInt(pa.donationMatch));
    expect(BigInt(pa.donationMatch)).toBeGreaterThan(0n);
    expect(BigInt(pa.donationMatch) + BigInt(pb.donationMatch)).toBeLessThanOrEqual(BigInt(done.donationPool));
    expect(BigInt(pa.usageMatch)).toBe(BigInt(done.usagePool)); // only A is paid for by more than one payer
    expect(BigInt(pb.usageMatch)).toBe(0n);
    expect(BigInt(done.usagePool)).toBe((BigInt(done.pool) * 3000n) / 10_000n);

    // Claims: only each model's owner, once; they receive donations + match exactly.
    const balance = (who: Address) => net.creator.public.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [who] });
    const foreign = await gotong("fund", "round", "claim", round, "1", "--key", donorKeyFiles[0]!);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(new RegExp(`Only ${a.creator} can claim`));
    let paidOut = 0n;
    for (const [m, p] of [[a, pa], [b, pb]] as const) {
      const start = await balance(m.creator);
      const claimed = await json<{ amount: string }>("fund", "round", "claim", round, `model:${m.id}`, "--key", m.creatorKeyFile);
      expect(claimed.amount).toBe(p.payout);
      expect((await balance(m.creator)) - start).toBe(BigInt(p.payout));
      paidOut += BigInt(p.payout);
    }
    const again = await gotong("fund", "round", "claim", round, "1", "--key", a.creatorKeyFile);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/AlreadyClaimed/);

    // Everything that came in went out, but rounding dust, which went back to the protocol's reserve.
    const reserve = await net.creator.public.readContract({ address: deployment.quadraticFunding!, abi: QuadraticFundingArtifact.abi, functionName: "reserve" });
    expect(paidOut + reserve).toBe(BigInt(done.pool) + 25_500_000n);
    expect(reserve).toBe(BigInt(done.unallocated));
    expect(reserve).toBeLessThan(2n);
  });
});
