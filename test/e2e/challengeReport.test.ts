import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeAbiParameters, erc20Abi, keccak256, parseEventLogs, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ProviderRegistryArtifact, ServingVerificationArtifact } from "../../src/chain/contracts.generated.ts";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { createUpstreamBackend } from "../../src/provider/createUpstreamBackend.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { quietLogger, startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import { readCost } from "../helpers/readCost.ts";
import { startOtherModel } from "../helpers/otherModelUpstream.ts";
import { waitFor } from "../helpers/waitFor.ts";
import { startFraudValidator } from "../helpers/fraudValidator.ts";

// Issue 14 end to end on one devnet: a cheaper provider serving another model behind the registered
// hash gets all the traffic, a challenge mixed into it is judged fraud by a validator, the gateway
// reports it (bond pulled), three staked validators vote, the stake is slashed, and the router
// sends the next request to the honest provider.

describe("a cheating provider caught by the gateway's challenges, slashed on-chain and routed away from", () => {
  let net: ChatNetwork;
  let honest: RunningProvider;
  let cheater: RunningProvider;
  let other: Awaited<ReturnType<typeof startOtherModel>>;
  let validator: Awaited<ReturnType<typeof startFraudValidator>>;
  let gateway: RunningGateway;
  let gatewayKey: Hex;
  let verification: Address;
  const voters: ChainClients[] = [];

  beforeAll(async () => {
    net = await startChatNetwork();
    const { deployment } = net.devnet;
    verification = (deployment as { servingVerification?: Address }).servingVerification!;
    expect(verification, "the devnet deploys ServingVerification").toBeDefined();
    other = await startOtherModel();
    validator = await startFraudValidator();
    honest = await net.provider(net.model.path);
    cheater = await net.provider(net.model.path, { price: { pricePerMillionInput: 100_000n, pricePerMillionOutput: 200_000n }, backend: createUpstreamBackend({ baseUrl: other.url, model: "other" }) });
    const sv = { address: verification, abi: ServingVerificationArtifact.abi } as const;
    const minStake = (await net.creator.public.readContract({ ...sv, functionName: "minValidatorStake" })) as bigint;
    for (let i = 0; i < 3; i++) {
      const key = generatePrivateKey();
      await fundOnDevnet(deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
      const clients = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(key) });
      await writeAndWait(clients, { address: deployment.token.address, abi: erc20Abi, functionName: "approve", args: [verification, minStake] });
      await writeAndWait(clients, { ...sv, functionName: "registerValidator", args: [minStake] });
      voters.push(clients);
    }
    gatewayKey = generatePrivateKey();
    await fundOnDevnet(deployment, privateKeyToAccount(gatewayKey).address, { tokens: 1_000n * UNIT });
    gateway = await startGateway({ home: net.home, deployment, privateKey: gatewayKey, port: 0, challengeShare: 1, validators: [validator.url], challengeMaxDelayMs: 100, healthProbeIntervalMs: 200, logger: quietLogger() });
  }, 180_000);
  afterAll(async () => {
    await gateway?.stop();
    other?.server.close();
    validator?.server.close();
    await net?.stop();
  });

  it("reports once with the bond, slashes the cheater's stake after a 2-of-3 fraud vote, and routes to the honest provider", async () => {
    const { deployment } = net.devnet;
    const sv = { address: verification, abi: ServingVerificationArtifact.abi } as const;
    const bond = (await net.creator.public.readContract({ ...sv, functionName: "reportBond" })) as bigint;
    const balanceOf = (a: Address) => net.creator.public.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [a] });
    const gatewayAddress = privateKeyToAccount(gatewayKey).address;
    const before = await balanceOf(gatewayAddress);
    const fromBlock = await net.creator.public.getBlockNumber();
    const res = await postChat(gateway.baseUrl, net.model.name, "Once upon a time", { max_tokens: 8 });
    expect(res.headers.get("x-gotong-provider")).toBe(cheater.address);
    await readCost(res);
    await waitFor(() => gateway.challenges!.stats().reported === 1, { what: "the fraud report", timeoutMs: 60_000, describe: () => gateway.challenges!.stats() });
    // What left the gateway's account: the channel deposits it made, and the report bond.
    const deposits = gateway.store.listChannels().reduce((sum, c) => sum + c.deposit, 0n);
    expect(before - (await balanceOf(gatewayAddress))).toBe(deposits + bond);
    const logs = parseEventLogs({ abi: ServingVerificationArtifact.abi, logs: await net.creator.public.getLogs({ address: verification, fromBlock }), eventName: "CaseOpened" }) as unknown as { args: { caseId: Hex; provider: Address; validators: readonly Address[] } }[];
    expect(logs.length).toBe(1);
    const { caseId, provider, validators: drawn } = logs[0]!.args;
    expect(provider).toBe(cheater.address);
    const stakeBefore = ((await net.creator.public.readContract({ address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "getProvider", args: [cheater.address] })) as { stake: bigint }).stake;
    // The three drawn validators vote fraud: commit, then reveal.
    const salt = `0x${"5a".repeat(32)}` as Hex;
    const drawnVoters = drawn.map((a) => voters.find((v) => v.account.address.toLowerCase() === a.toLowerCase())!);
    for (const v of drawnVoters) {
      const commitment = keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bool" }, { type: "bytes32" }, { type: "address" }], [caseId, true, salt, v.account.address]));
      await writeAndWait(v, { ...sv, functionName: "commitVote", args: [caseId, commitment] });
    }
    for (const v of drawnVoters) await writeAndWait(v, { ...sv, functionName: "revealVote", args: [caseId, true, salt] });
    await writeAndWait(voters[0]!, { ...sv, functionName: "finalize", args: [caseId] });
    const [passed, failed, slashed, suspended] = (await net.creator.public.readContract({ ...sv, functionName: "providerRecord", args: [cheater.address] })) as [bigint, bigint, bigint, boolean];
    expect({ passed, failed, suspended }).toEqual({ passed: 0n, failed: 1n, suspended: true });
    expect(slashed).toBe(stakeBefore); // slashBps defaults to all of it
    // The router reads the record within a round and sends the next request to the honest provider.
    await gateway.records!.refreshNow();
    expect(gateway.router.isSuspended(cheater.address)).toBe(true);
    const next = await postChat(gateway.baseUrl, net.model.name, "Once upon a time", { max_tokens: 8 });
    expect(next.status).toBe(200);
    expect(next.headers.get("x-gotong-provider")).toBe(honest.address);
    await readCost(next);
    // A second fraud verdict against the same provider reports nothing more.
    expect(gateway.challenges!.stats().reported).toBe(1);
  }, 180_000);
});
