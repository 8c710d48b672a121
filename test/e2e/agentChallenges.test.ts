import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, parseEventLogs, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createAgent, createAgentWallet, defaultAgentPolicy, type Agent } from "../../src/agent/index.ts";
import { ServingVerificationArtifact } from "../../src/chain/contracts.generated.ts";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { createUpstreamBackend } from "../../src/provider/createUpstreamBackend.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { startOtherModel } from "../helpers/otherModelUpstream.ts";
import { quietLogger, startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";
import { waitFor } from "../helpers/waitFor.ts";
import { startFraudValidator } from "../helpers/fraudValidator.ts";

// Issue 14 for the agent SDK: an agent that opts in mixes challenges into its own paid traffic, as a
// gateway does, and reports a provider serving another model, with the bond from its own key.

describe("an agent's challenges: opted in, they follow its traffic and report a cheating provider", () => {
  let net: ChatNetwork;
  let cheater: RunningProvider;
  let other: Awaited<ReturnType<typeof startOtherModel>>;
  let validator: Awaited<ReturnType<typeof startFraudValidator>>;
  let owner: ChainClients;
  const agents: Agent[] = [];
  const deployment = () => net.devnet.deployment;
  const balanceOf = (who: Address) => owner.public.readContract({ address: deployment().token.address, abi: erc20Abi, functionName: "balanceOf", args: [who] });

  /** A fresh agent key (gas, and `keyTokens` of its own) and a wallet for it holding 100 gUSD. */
  async function newAgent(options: { keyTokens: bigint; challengeShare?: number }) {
    const agentKey = generatePrivateKey();
    const agentAddress = privateKeyToAccount(agentKey).address;
    await fundOnDevnet(deployment(), agentAddress, { tokens: options.keyTokens });
    const policy = defaultAgentPolicy(deployment(), { budget: 10n * UNIT, maxPerTransaction: 4n * UNIT, period: 86_400 });
    const wallet = await createAgentWallet(owner, deployment(), { agent: agentAddress, policy });
    await writeAndWait(owner, { address: deployment().token.address, abi: erc20Abi, functionName: "transfer", args: [wallet, 100n * UNIT] });
    const agent = await createAgent({
      wallet,
      agentKey,
      deployment: deployment(),
      home: net.home,
      logger: quietLogger(),
      challengeShare: options.challengeShare,
      validators: [validator.url],
      challengeMaxDelayMs: 100,
    });
    agents.push(agent);
    return { agent, agentAddress };
  }

  beforeAll(async () => {
    net = await startChatNetwork();
    other = await startOtherModel();
    validator = await startFraudValidator();
    await net.provider(net.model.path);
    // Cheaper, so it gets the agents' traffic; it serves another model behind the registered hash.
    cheater = await net.provider(net.model.path, { price: { pricePerMillionInput: 100_000n, pricePerMillionOutput: 200_000n }, backend: createUpstreamBackend({ baseUrl: other.url, model: "other" }) });
    owner = createClients({ rpcUrl: deployment().rpcUrl, chainId: deployment().chainId, account: privateKeyToAccount(generatePrivateKey()) });
    await fundOnDevnet(deployment(), owner.account.address, { tokens: 1_000n * UNIT });
    // A case draws three staked validators: without them a report is refused.
    const sv = { address: (deployment() as { servingVerification?: Address }).servingVerification!, abi: ServingVerificationArtifact.abi } as const;
    const minStake = (await owner.public.readContract({ ...sv, functionName: "minValidatorStake" })) as bigint;
    for (let i = 0; i < 3; i++) {
      const key = generatePrivateKey();
      await fundOnDevnet(deployment(), privateKeyToAccount(key).address, { tokens: minStake });
      const clients = createClients({ rpcUrl: deployment().rpcUrl, chainId: deployment().chainId, account: privateKeyToAccount(key) });
      await writeAndWait(clients, { address: deployment().token.address, abi: erc20Abi, functionName: "approve", args: [sv.address, minStake] });
      await writeAndWait(clients, { ...sv, functionName: "registerValidator", args: [minStake] });
    }
  }, 180_000);
  afterAll(async () => {
    for (const a of agents) await a.close().catch(() => {});
    other?.server.close();
    validator?.server.close();
    await net?.stop();
  });

  it("sends no challenge by default: the owner's budget pays only for the agent's own requests", async () => {
    const { agent } = await newAgent({ keyTokens: 0n });
    const answer = await agent.chat({ model: net.model.name, prompt: "Once upon a time", maxTokens: 8 });
    expect(answer.provider).toBe(cheater.address);
    expect(await agent.challenges()).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(validator.asked).toBe(0);
  }, 120_000);

  it("with challengeShare 1, challenges the provider it paid, reports the fraud with its key's bond, and its channel spent is its answers plus its challenges", async () => {
    const verification = (deployment() as { servingVerification?: Address }).servingVerification!;
    const bond = (await owner.public.readContract({ address: verification, abi: ServingVerificationArtifact.abi, functionName: "reportBond" })) as bigint;
    const { agent, agentAddress } = await newAgent({ keyTokens: bond, challengeShare: 1 });
    const fromBlock = await owner.public.getBlockNumber();
    const answer = await agent.chat({ model: net.model.name, prompt: "Once upon a time", maxTokens: 8 });
    expect(answer.provider).toBe(cheater.address);
    const stats = await waitFor(async () => {
      const s = await agent.challenges();
      return s && s.reported === 1 ? s : undefined;
    }, { what: "the agent's fraud report", timeoutMs: 60_000, describe: () => agent.challenges() });
    expect(stats).toMatchObject({ sent: 1, fraud: 1, reported: 1 });
    expect(validator.asked).toBeGreaterThanOrEqual(1);
    // The bond came from the agent key's own tokens, not the wallet's.
    expect(await balanceOf(agentAddress)).toBe(0n);
    const cases = parseEventLogs({ abi: ServingVerificationArtifact.abi, logs: await owner.public.getLogs({ address: verification, fromBlock }), eventName: "CaseOpened" }) as unknown as { args: { provider: Address; reporter: Address } }[];
    expect(cases.map((c) => [c.args.provider, c.args.reporter])).toEqual([[cheater.address, agentAddress]]);
    // Everything the agent's channels spent is what it was told its answer cost plus its challenge.
    const channels = await agent.channels();
    const spent = channels.channels.reduce((sum, c) => sum + c.spent, 0n);
    expect(stats.spent).toBeGreaterThan(0n);
    expect(spent).toBe(answer.cost + stats.spent);
  }, 180_000);
});

