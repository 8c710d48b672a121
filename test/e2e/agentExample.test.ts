import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { zeroAddress, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createClients } from "../../src/chain/createClients.ts";
import { QuadraticFundingArtifact } from "../../src/chain/contracts.generated.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { readAgentConfig } from "../../src/agent/agentConfig.ts";
import { readAgentWallet } from "../../src/agent/readAgentWallet.ts";
import { runGotong, runNode } from "../helpers/cli.ts";
import { startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";

const example = resolve(import.meta.dirname, "../../examples/funding-agent.ts");

/** Runs the example as a user would (through tsx, `gotong/agent` from this checkout's src/), to completion. */
const runExample = (args: string[], env: Record<string, string>) => runNode(["--conditions=gotong-source", "--import", "tsx", example, ...args], env);

describe("examples/funding-agent.ts", () => {
  let net: ChatNetwork;
  let roundId: bigint;
  const env = () => ({ GOTONG_HOME: net.home.root, GOTONG_LOG_LEVEL: "warn" });
  const qf = () => ({ address: net.devnet.deployment.quadraticFunding!, abi: QuadraticFundingArtifact.abi }) as const;

  beforeAll(async () => {
    net = await startChatNetwork();
    await net.provider(net.model.path);
    // A round open for donations, with two projects: the model, and a lab's address.
    const now = (await net.creator.public.getBlock()).timestamp;
    await writeAndWait(net.creator, {
      ...qf(),
      functionName: "createRound",
      args: [{ token: net.devnet.deployment.token.address, applicationStart: now, applicationEnd: now + 3600n, donationStart: now, donationEnd: now + 7200n, matchingCapBps: 10_000, usageWeightBps: 0, donorCap: 0n, attestations: zeroAddress, issuers: [] }],
    });
    roundId = (await net.creator.public.readContract({ ...qf(), functionName: "roundCount" })) as bigint;
    await writeAndWait(net.creator, { ...qf(), functionName: "applyProject", args: [roundId, net.modelId] });
    const lab = createClients({ rpcUrl: net.devnet.deployment.rpcUrl, chainId: net.devnet.deployment.chainId, account: privateKeyToAccount(generatePrivateKey()) });
    await fundOnDevnet(net.devnet.deployment, lab.account.address, {});
    await writeAndWait(lab, { ...qf(), functionName: "applyProject", args: [roundId, 0n] });
  });
  afterAll(() => net?.stop());

  it("asks a model on the network which projects to support and donates within its budget, then stops at the budget", async () => {
    const created = await runGotong(["agent", "create", "funder", "--budget", "6", "--max-per-tx", "2", "--period", "1d", "--fund", "20"], env());
    expect(created.code, created.stderr).toBe(0);
    const wallet: Address = readAgentConfig(net.home, "funder").wallet;

    const first = await runExample(["--agent", "funder", "--round", roundId.toString()], env());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/asked .+ \(cost 0\.\d+ gUSD\); it answered/);
    expect(first.stdout).toMatch(/donated .+ gUSD to /);

    // What was donated plus the channel deposit that paid for the question is the budget, and no more.
    let donated = 0n;
    for (const projectId of [1n, 2n]) {
      const project = (await net.creator.public.readContract({ ...qf(), functionName: "getProject", args: [roundId, projectId] })) as { donations: { amount: bigint } };
      donated += project.donations.amount;
    }
    const status = await readAgentWallet(net.creator.public, wallet);
    const spent = status.budgets[0]!.spent;
    expect(spent).toBe(6n * UNIT);
    expect(donated).toBe(spent - (6n * UNIT) / 100n); // the deposit of the channel the question was paid from: 1% of the budget
    expect(donated).toBeGreaterThan(0n);

    // Run again: the budget is spent for this period, so the agent gives nothing, and says why.
    const second = await runExample(["--agent", "funder", "--round", roundId.toString()], env());
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("funding agent stopped");
    expect((await readAgentWallet(net.creator.public, wallet)).budgets[0]!.spent).toBe(6n * UNIT);
  });

  it("does not crash on a model nobody serves: it is refused before anything is paid, and the agent donates without its advice", async () => {
    const created = await runGotong(["agent", "create", "unadvised", "--budget", "2", "--max-per-tx", "1", "--period", "1d", "--fund", "5"], env());
    expect(created.code, created.stderr).toBe(0);
    const wallet: Address = readAgentConfig(net.home, "unadvised").wallet;

    const run = await runExample(["--agent", "unadvised", "--round", roundId.toString(), "--model", "nobody-serves-this"], env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("no provider serves nobody-serves-this");
    expect(run.stdout).toMatch(/donated .+ gUSD to /);
    // No channel was opened for the refused question: the whole budget went to donations.
    expect((await readAgentWallet(net.creator.public, wallet)).budgets[0]!.spent).toBe(2n * UNIT);
  });
});
