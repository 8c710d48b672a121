import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { createUpstreamBackend } from "../../src/provider/createUpstreamBackend.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { checkEvidence, decodeEvidence, type Evidence } from "../../src/verification/evidence.ts";
import { runGotong } from "../helpers/cli.ts";
import { quietLogger, startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import { readCost } from "../helpers/readCost.ts";
import { startOtherModel } from "../helpers/otherModelUpstream.ts";
import { waitFor } from "../helpers/waitFor.ts";

/** A stand-in validator: it records the evidence it is sent and finds fraud in the other model's answer. */
function startValidator(): Promise<{ server: Server; url: string; received: Evidence[] }> {
  const received: Evidence[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (b) => (body += b));
    req.on("end", () => {
      const evidence = decodeEvidence(JSON.parse(body));
      received.push(evidence);
      const fraud = evidence.response.includes("DIFFERENT MODEL");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ fraud, reason: fraud ? "different_output" : "ok", agreement: fraud ? 0 : 1 }));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

type Listed = { address: string; endpoint: string; stake: string; unstaking: string; slashed: string; challengesPassed: string; challengesFailed: string; suspended: boolean; active: boolean; offers: { modelId: string; pricePerMillionInput: string; pricePerMillionOutput: string }[] }[];

describe("providers' verification records and the gateway's challenger on a devnet", () => {
  let net: ChatNetwork;
  let honest: RunningProvider;
  let cheater: RunningProvider;
  let other: Awaited<ReturnType<typeof startOtherModel>>;
  let validator: Awaited<ReturnType<typeof startValidator>>;
  let gateway: RunningGateway;

  beforeAll(async () => {
    net = await startChatNetwork();
    other = await startOtherModel();
    validator = await startValidator();
    honest = await net.provider(net.model.path);
    // Cheaper, so the router sends it everything: the case issue 14 found.
    cheater = await net.provider(net.model.path, {
      price: { pricePerMillionInput: 100_000n, pricePerMillionOutput: 200_000n },
      backend: createUpstreamBackend({ baseUrl: other.url, model: "other" }),
    });
    const key = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
    gateway = await startGateway({ home: net.home, deployment: net.devnet.deployment, privateKey: key, port: 0, challengeShare: 1, validators: [validator.url], challengeMaxDelayMs: 200, logger: quietLogger() });
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop();
    other?.server.close();
    validator?.server.close();
    await net?.stop();
  });

  it("lists every provider with address, endpoint, stake, slashed and challenges as decimal strings (`gotong provider list --json`)", async () => {
    const result = await runGotong(["provider", "list", "--home", net.home.root, "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const listed = JSON.parse(result.stdout) as Listed;
    const minStake = net.devnet.deployment.minStake;
    const byAddress = new Map(listed.map((p) => [p.address.toLowerCase(), p]));
    expect(listed.length).toBe(2);
    expect(byAddress.get(honest.address.toLowerCase())).toEqual({
      address: honest.address,
      endpoint: honest.url,
      stake: minStake,
      unstaking: "0",
      slashed: "0",
      challengesPassed: "0",
      challengesFailed: "0",
      suspended: false,
      paused: false,
      active: true,
      offers: [{ modelId: net.modelId.toString(), pricePerMillionInput: "1000000", pricePerMillionOutput: "2000000", capabilities: expect.any(Array) }],
    });
    expect(byAddress.get(cheater.address.toLowerCase())).toMatchObject({ address: cheater.address, stake: minStake, slashed: "0", challengesFailed: "0", offers: [{ pricePerMillionInput: "100000", pricePerMillionOutput: "200000" }] });
    const text = await runGotong(["provider", "list", "--home", net.home.root]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`${honest.address}  active  ${honest.url}`);
    expect(text.stdout).toContain("challenges passed 0, failed 0");
  });

  it("mixes challenges into the real traffic to the cheater, evidence byte-exact, their cost in the money identity", async () => {
    const told: bigint[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await postChat(gateway.baseUrl, net.model.name, `Once upon a time ${i}`, { max_tokens: 8, stream: i % 2 === 0 });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-gotong-provider")).toBe(cheater.address);
      const { cost } = await readCost(res);
      told.push(cost!);
    }
    const challenges = gateway.challenges!;
    expect(challenges).toBeDefined();
    await waitFor(() => challenges.stats().pending === 0 && validator.received.length > 0, { what: "the challenges to reach the validator", timeoutMs: 60_000, describe: () => challenges.stats() });
    await challenges.idle();
    const stats = challenges.stats();
    // Share 1, at most two waiting per provider and model: 2 to 4 challenges for 4 requests, all to the cheater (the only one with traffic).
    expect(stats.sent).toBeGreaterThanOrEqual(2);
    expect(stats.sent).toBe(stats.scheduled);
    expect(validator.received.length).toBe(stats.sent);
    const domain = { chainId: net.devnet.deployment.chainId, verifyingContract: net.devnet.deployment.paymentChannels };
    for (const evidence of validator.received) {
      expect(evidence.provider).toBe(cheater.address);
      expect(evidence.response).toBe("I AM A DIFFERENT MODEL");
      expect(await checkEvidence(evidence, domain)).toEqual({ ok: true });
      expect(JSON.parse(Buffer.from(evidence.request).toString("utf8"))).toMatchObject({ model: net.model.name, temperature: 0 });
    }
    expect(stats.fraud).toBe(stats.sent);
    expect(stats.reported).toBe(0); // a report needs ServingVerification and three staked validators, which this network does not have
    expect(stats.spent).toBeGreaterThan(0n);
    // What clients were told plus what the challenges cost is what the gateway spent, to the base unit,
    // and what the provider is owed.
    const spent = gateway.store.listChannels().reduce((sum, c) => sum + c.spent, 0n);
    expect(spent).toBe(told.reduce((a, b) => a + b, 0n) + stats.spent);
    const owed = gateway.store.listChannels().reduce((sum, c) => sum + cheater.store.getChannel(c.channelId, c.epoch).owed, 0n);
    expect(owed).toBe(spent);
    // The honest provider had no traffic, so no challenge either.
    expect(validator.received.some((e) => e.provider === honest.address)).toBe(false);
  }, 120_000);
});
