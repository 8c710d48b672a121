import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ProviderRegistryArtifact } from "../../src/chain/contracts.generated.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/startGateway.ts";
import { spawnGotong, type CliProcess } from "../helpers/cli.ts";
import { quietLogger, startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";
import { freePort } from "../helpers/ports.ts";
import { postChat } from "../helpers/postChat.ts";
import { waitFor } from "../helpers/waitFor.ts";

/** The gateway's liveness settings here: probes every 250 ms, dead after 1.5 s of silence. */
const PROBE_MS = 250;
const DEAD_AFTER_MS = 1_500;
/** The bound a vanished provider is dropped within: silence, one more probe, its timeout (2 s, unused: a dead port refuses at once), and slack for a loaded machine. */
const BOUND_MS = DEAD_AFTER_MS + PROBE_MS + 2_000 + 1_500;

describe("liveness: a provider that vanishes or stops, then comes back", () => {
  let net: ChatNetwork;
  let gateway: RunningGateway;
  let keyFile: string;
  let port: number;
  let provider: Address;
  const children: CliProcess[] = [];

  const startProviderProcess = async () => {
    const p = spawnGotong(["provider", "start", "--model", net.model.path, "--home", net.home.root, "--key", keyFile, "--port", String(port), "--threads", "1", "--price-input", "1", "--price-output", "2"]);
    children.push(p);
    await p.waitFor(/serving/);
    return p;
  };
  type Listed = { id: string; gotong: { providers: number } };
  const listed = async () => {
    const res = await fetch(`${gateway.baseUrl}/models`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: Listed[] }).data;
  };
  const modelListed = async () => (await listed()).find((m) => m.id === net.model.name);
  const paused = async () =>
    ((await net.creator.public.readContract({ address: net.devnet.deployment.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "getProvider", args: [provider] })) as { paused: boolean }).paused;

  beforeAll(async () => {
    net = await startChatNetwork();
    const key = generatePrivateKey();
    provider = privateKeyToAccount(key).address;
    keyFile = join(net.home.keys, "liveness-provider.key");
    writeFileSync(keyFile, key, { mode: 0o600 });
    await fundOnDevnet(net.devnet.deployment, provider, { tokens: 1_000n * UNIT });
    port = await freePort();
    const gatewayKey = generatePrivateKey();
    await fundOnDevnet(net.devnet.deployment, privateKeyToAccount(gatewayKey).address, { tokens: 1_000n * UNIT });
    gateway = await startGateway({
      home: net.home,
      deployment: net.devnet.deployment,
      privateKey: gatewayKey,
      port: 0,
      offersRefreshMs: 200,
      healthProbeIntervalMs: PROBE_MS,
      deadAfterMs: DEAD_AFTER_MS,
      logger: quietLogger(),
    });
  });
  afterAll(async () => {
    for (const c of children) c.child.kill("SIGKILL");
    await gateway?.stop();
    await net?.stop();
  });

  it("drops a provider killed with SIGKILL from /v1/models and routing within the bound, and lists it again once restarted", async () => {
    const first = await startProviderProcess();
    const before = await waitFor(async () => (await modelListed())?.gotong.providers === 1 || undefined, { what: "the model to be listed with its provider", timeoutMs: 15_000, intervalMs: 100 });
    expect(before).toBe(true);
    expect((await postChat(gateway.baseUrl, net.model.name, "Once upon a time", { max_tokens: 4 })).status).toBe(200);

    first.child.kill("SIGKILL");
    await first.exited;
    const killedAt = Date.now();
    // Killed, it could not pause its offer: the chain still lists it; only probing finds it gone.
    expect(await paused()).toBe(false);
    await waitFor(async () => ((await modelListed()) === undefined ? true : undefined), { what: "the model nobody serves to leave /v1/models", timeoutMs: BOUND_MS, intervalMs: 100 });
    const droppedAfter = Date.now() - killedAt;
    expect(droppedAfter).toBeGreaterThanOrEqual(DEAD_AFTER_MS - 100); // not before it has been silent for the bound
    expect(droppedAfter).toBeLessThanOrEqual(BOUND_MS);
    expect((await gateway.router.listModels()).some((m) => m.name === net.model.name)).toBe(true); // still on-chain
    const refused = await postChat(gateway.baseUrl, net.model.name, "Once upon a time", { max_tokens: 4 });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("no_provider_ready");

    await startProviderProcess();
    await waitFor(async () => (await modelListed())?.gotong.providers === 1 || undefined, { what: "the restarted provider's model to be listed again", timeoutMs: 10_000, intervalMs: 100 });
    expect((await postChat(gateway.baseUrl, net.model.name, "Once upon a time", { max_tokens: 4 })).status).toBe(200);
  });

  it("pauses the offers on-chain when a provider stops cleanly, so gateways drop it at the next block, and resumes them on restart", async () => {
    const running = children.at(-1)!;
    running.child.kill("SIGTERM");
    expect((await running.exited) ?? 0).toBe(0);
    const stoppedAt = Date.now();
    expect(await paused()).toBe(true);
    // Gone from the offers themselves (discovery read the pause), not only marked dead.
    await waitFor(async () => ((await gateway.router.listModels()).some((m) => m.name === net.model.name) ? undefined : true), { what: "discovery to read the pause", timeoutMs: 5_000, intervalMs: 50 });
    expect(Date.now() - stoppedAt).toBeLessThan(DEAD_AFTER_MS + 2_000);
    expect(await modelListed()).toBeUndefined();

    await startProviderProcess();
    expect(await paused()).toBe(false);
    await waitFor(async () => (await modelListed())?.gotong.providers === 1 || undefined, { what: "the resumed offer to be listed again", timeoutMs: 10_000, intervalMs: 100 });
  });
});
