import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { decodeFunctionData, getAddress, parseEther, type Abi, type Address, type Hex, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ModelRegistryArtifact, PaymentChannelsArtifact, ProviderRegistryArtifact, TestTokenArtifact } from "../../src/chain/contracts.generated.ts";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { readDeployment, type Deployment } from "../../src/chain/deployment.ts";
import { findAnvil } from "../../src/chain/findAnvil.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { chatModel, type ChatModel } from "../helpers/chatModel.ts";
import { runGotong, spawnGotong, spawnNode, type CliProcess } from "../helpers/cli.ts";
import { readCost } from "../helpers/readCost.ts";
import { tempHome } from "../helpers/tempHome.ts";
import { waitFor } from "../helpers/waitFor.ts";
import { createVirtualHosts, virtualHostsUnavailable, type VirtualHosts } from "../helpers/virtualHosts.ts";
import { spawn, type ChildProcess } from "node:child_process";

/**
 * Each role on a host of its own: the chain, three providers and a gateway, each in a Linux network
 * namespace with its own address and GOTONG_HOME, joined by a switch (test/helpers/virtualHosts.ts).
 * The contracts are deployed with `gotong deploy` to a chain that is not the devnet (chain id 4243,
 * no funded dev keys); everything else is the `gotong` command a user runs on each host. Providers
 * find each other only through the chain; a provider host is cut off by pulling its cable (its
 * switch port goes down, the process keeps running), then plugged back in.
 */
const unavailable = virtualHostsUnavailable();
if (unavailable) process.stdout.write(`manyHosts: skipped: ${unavailable}\n`);

const CHAIN_ID = 4243;
const UNIT = 1_000_000n; // the test token has 6 decimals
const PORT = 8601;
/** The far provider's network latency, each way. */
const FAR_MS = 150;

type Listed = { channels: { channelId: Hex; provider: string; modelId: string; state: string; deposit: string; spent: string; redeemed: string }[]; totals: { spent: string; redeemed: string } };
type Host = { key: Hex; address: Address; home: string; namespace: string; ip: string };

describe.skipIf(unavailable !== undefined)("many hosts: chain, three providers and a gateway in their own network namespaces", () => {
  const dir = tempHome();
  let lan: VirtualHosts;
  let anvil: ChildProcess;
  let rpcUrl: string;
  let deployer: ChainClients;
  let deployment: Deployment;
  let deploymentFile: string;
  let model: ChatModel;
  const hosts: Record<string, Host> = {};
  const running = new Map<string, CliProcess>();
  let forwarder: CliProcess;
  let gatewayUrl: string;
  /** Every cost the gateway told a client, by the provider that served it. */
  const told: { provider: Address; cost: bigint }[] = [];

  const env = (host: Host) => ({ GOTONG_HOME: host.home, GOTONG_LOG_LEVEL: "info" });
  /** Gas money and tokens: this chain has no faucet but Anvil's own `anvil_setBalance` and the test token's mint. */
  async function fund(address: Address, tokens: bigint) {
    await (deployer.public as PublicClient).request({ method: "anvil_setBalance" as never, params: [address, `0x${parseEther("10").toString(16)}`] as never });
    if (tokens > 0n) await writeAndWait(deployer, { address: deployment.token.address, abi: TestTokenArtifact.abi, functionName: "mint", args: [address, tokens] });
  }
  /** A machine's own GOTONG_HOME and key; `name` is a test host, or none for this process's side. */
  function makeHost(name: string): Host {
    const key = generatePrivateKey();
    const home = join(dir.root, name);
    mkdirSync(join(home, "keys"), { recursive: true });
    writeFileSync(join(home, "key"), key + "\n", { mode: 0o600 });
    const h = lan.hosts[name];
    return { key, address: privateKeyToAccount(key).address, home, namespace: h?.namespace ?? "", ip: h?.address ?? lan.uplink };
  }
  function startProvider(name: string, price: [string, string], listen: { host: string; endpoint?: string }) {
    const host = hosts[name]!;
    const args = ["provider", "start", "--model", model.path, "--host", listen.host, "--port", String(PORT), "--key", join(host.home, "key"), "--deployment", deploymentFile, "--threads", "1", "--parallel", "1", "--price-input", price[0], "--price-output", price[1], "--json"];
    if (listen.endpoint) args.push("--endpoint", listen.endpoint);
    const p = spawnGotong(args, env(host), { netns: host.namespace });
    running.set(name, p);
    return p;
  }
  function startGateway() {
    const host = hosts.gateway!;
    const p = spawnGotong(["gateway", "start", "--host", host.ip, "--port", "8600", "--key", join(host.home, "key"), "--deployment", deploymentFile, "--deposit", "2", "--json"], env(host), { netns: host.namespace });
    running.set("gateway", p);
    return p;
  }
  async function stop(name: string) {
    const p = running.get(name);
    if (!p || p.child.exitCode !== null) return;
    p.child.kill("SIGINT");
    const timer = setTimeout(() => p.child.kill("SIGKILL"), 30_000);
    await p.exited;
    clearTimeout(timer);
  }
  /** One paid chat request from this process (on the uplink); returns who served it and what it cost. */
  async function chat(content: string, extra: Record<string, unknown> = {}) {
    const res = await fetch(`${gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: model.name, messages: [{ role: "user", content }], max_tokens: 8, ...extra }),
    });
    if (res.status !== 200) throw new Error(`chat answered ${res.status}: ${await res.text()}`);
    const provider = getAddress(res.headers.get("x-gotong-provider")!);
    const { cost, streamError } = await readCost(res);
    expect(streamError).toBeUndefined();
    expect(cost).toBeGreaterThan(0n);
    told.push({ provider, cost: cost! });
    return { provider, cost: cost! };
  }
  const liveProviders = async () => {
    const res = await fetch(`${gatewayUrl}/v1/models`);
    const body = (await res.json()) as { data: { id: string; gotong?: { providers?: number } }[] };
    return body.data.find((m) => m.id === model.name)?.gotong?.providers ?? 0;
  };
  const channels = async () => {
    const result = await runGotong(["channel", "list", "--key", join(hosts.gateway!.home, "key"), "--deployment", deploymentFile, "--json"], env(hosts.gateway!), { netns: hosts.gateway!.namespace });
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Listed;
  };
  const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

  beforeAll(async () => {
    lan = createVirtualHosts(["chain", "p1", "p2", "p3", "p4", "gateway"]);
    model = await chatModel(dir.models);
    for (const name of ["chain", "p1", "p2", "p3", "p4", "gateway"]) hosts[name] = makeHost(name);

    // The chain host runs a plain Anvil on its own address: "another network", not the devnet.
    rpcUrl = `http://${lan.hosts.chain!.address}:8545`;
    anvil = spawn("ip", ["netns", "exec", lan.hosts.chain!.namespace, findAnvil(), "--host", lan.hosts.chain!.address, "--port", "8545", "--chain-id", String(CHAIN_ID), "--balance", "0"], { stdio: "ignore" });
    deployer = createClients({ rpcUrl, chainId: CHAIN_ID, account: privateKeyToAccount(hosts.chain!.key) });
    await waitFor(() => deployer.public.getBlockNumber().then(() => true, () => false), { timeoutMs: 30_000, what: "Anvil on the chain host" });
    await (deployer.public as PublicClient).request({ method: "anvil_setBalance" as never, params: [hosts.chain!.address, `0x${parseEther("100").toString(16)}`] as never });

    // The operator deploys from its own machine (this process) with `gotong deploy`.
    deploymentFile = join(dir.root, "deployment.json");
    const deployed = await runGotong(["deploy", "--rpc-url", rpcUrl, "--key", join(hosts.chain!.home, "key"), "--test-token", "--min-stake", "10", "--out", deploymentFile]);
    expect(deployed.code, deployed.stderr).toBe(0);
    deployment = readDeployment(deploymentFile);
    expect(deployment.chainId).toBe(CHAIN_ID);
    for (const name of ["p1", "p2", "p3", "p4"]) await fund(hosts[name]!.address, 20n * UNIT);
    await fund(hosts.gateway!.address, 100n * UNIT);

    // A creator publishes the model from yet another machine (this process, its own home).
    const creator = makeHost("creator");
    await fund(creator.address, 0n);
    const published = await runGotong(["model", "publish", model.path, "--name", model.name, "--key", join(creator.home, "key"), "--deployment", deploymentFile], { GOTONG_HOME: creator.home });
    expect(published.code, published.stderr).toBe(0);

    // p1 is far away (behind a link with FAR_MS each way, played by a forwarder on its address) and
    // listens only on its own loopback: its public endpoint is not its listen address.
    const p1 = hosts.p1!;
    forwarder = spawnNode([resolve(import.meta.dirname, "../helpers/delayingForwarder.mjs"), p1.ip, String(PORT), "127.0.0.1", String(PORT), String(FAR_MS)], {}, { netns: p1.namespace });
    await forwarder.waitFor(/forwarding/);
    const started = [
      startProvider("p1", ["2", "3"], { host: "127.0.0.1", endpoint: `http://${p1.ip}:${PORT}` }),
      startProvider("p2", ["1", "2"], { host: hosts.p2!.ip }),
      startProvider("p3", ["3", "4"], { host: hosts.p3!.ip }),
      // The cheapest offer of all names an endpoint where nothing answers (a typo, a firewall, a
      // lie): the gateway must never send a request, or money, there.
      startProvider("p4", ["0.5", "1"], { host: hosts.p4!.ip, endpoint: `http://${hosts.p4!.ip}:9` }),
    ];
    await Promise.all(started.map((p) => p.waitFor(/"url":/, 120_000)));
    const gateway = startGateway();
    gatewayUrl = (JSON.parse(await gateway.waitFor(/\{"baseUrl":[^\n]*\}/, 60_000)) as { baseUrl: string }).baseUrl.replace(/\/v1$/, "");
  }, 300_000);

  afterAll(async () => {
    for (const name of [...running.keys()].reverse()) await stop(name).catch(() => {});
    forwarder?.child.kill("SIGKILL");
    anvil?.kill("SIGKILL");
    lan?.destroy();
    dir.cleanup();
  });

  it("finds the three providers on their hosts through the chain and routes by price, then latency", async () => {
    // Every provider is health-checked from the gateway's host before it counts as live: four
    // offers on-chain, three live.
    await waitFor(async () => (await liveProviders()) === 3, { timeoutMs: 30_000, what: "three live providers in /v1/models" });
    const offers = (await (await fetch(`${gatewayUrl}/v1/models`)).json()) as { data: { id: string; gotong: { offers: { provider: string; live: boolean }[] } }[] };
    const listed = offers.data.find((m) => m.id === model.name)!.gotong.offers;
    expect(listed).toHaveLength(4);
    expect(listed.find((o) => getAddress(o.provider) === hosts.p4!.address)?.live).toBe(false);
    // The cheapest serves by default, streamed or not.
    for (const [i, prompt] of ["Once upon a time", "A cat", "The sun rose"].entries()) {
      expect((await chat(prompt, { stream: i % 2 === 1 })).provider).toBe(hosts.p2!.address);
    }
    // Asked by name, the far one and the dear one serve too; each is measured as it serves.
    expect((await chat("Lily went", { provider: { order: [hosts.p1!.address], allow_fallbacks: false } })).provider).toBe(hosts.p1!.address);
    expect((await chat("Tom and Sue", { provider: { order: [hosts.p3!.address], allow_fallbacks: false } })).provider).toBe(hosts.p3!.address);
    // By latency, the near dear provider wins over the far cheaper one.
    expect((await chat("The dog", { provider: { sort: "latency", ignore: [hosts.p2!.address] } })).provider).toBe(hosts.p3!.address);
  });

  it("fails over when the cheapest provider's host is cut off, and drops it from the live list", async () => {
    lan.hosts.p2!.cut();
    const started = Date.now();
    const served = await chat("A bird sang");
    const ms = Date.now() - started;
    expect(served.provider).not.toBe(hosts.p2!.address);
    process.stdout.write(`manyHosts: first request after the cut served by another provider in ${ms} ms\n`);
    // Not the 30 s answer timeout: a new connection to the silent host found nothing, so the next
    // provider was tried (a probe after 3 s, failing within 2 s; the bound leaves room for a busy machine).
    expect(ms).toBeLessThan(20_000);
    await waitFor(async () => (await liveProviders()) === 2, { timeoutMs: 45_000, what: "the cut provider dropped from /v1/models" });
    for (const prompt of ["The moon", "A red ball"]) expect((await chat(prompt)).provider).toBe(hosts.p1!.address);
  });

  it("a gateway killed and restarted carries on with the channels it had", async () => {
    const before = await channels();
    const gateway = running.get("gateway")!;
    gateway.child.kill("SIGKILL");
    await gateway.exited;
    startGateway();
    await running.get("gateway")!.waitFor(/\{"baseUrl":/, 60_000);
    expect((await chat("Once more")).provider).toBe(hosts.p1!.address);
    const after = await channels();
    expect(after.channels.map((c) => c.channelId).sort()).toEqual(before.channels.map((c) => c.channelId).sort());
  });

  it("a provider host that comes back is routed to again and redeems what it earned while away", async () => {
    lan.hosts.p2!.restore();
    await waitFor(async () => (await liveProviders()) === 3, { timeoutMs: 45_000, what: "the provider back in /v1/models" });
    expect((await chat("Back again")).provider).toBe(hosts.p2!.address);
    // Overlapping requests from several clients: each one paid once, whoever serves it.
    const burst = await Promise.all(["One", "Two", "Three", "Four", "Five", "Six"].map((prompt, i) => chat(prompt, { stream: i % 2 === 0 })));
    expect(burst.map((b) => b.provider)).toContain(hosts.p2!.address);
    expect(burst.map((b) => b.provider)).not.toContain(hosts.p4!.address);
  });

  it("keeps the money exact over all of it: told = spent = redeemed on-chain, per provider, to the base unit", async () => {
    // The gateway's last vouchers go out on its clean stop; each provider host then redeems. The
    // one that was cut off could not reach the chain while away: it still holds unredeemed pay.
    await stop("gateway");
    const p2Before = (await channels()).channels.find((c) => getAddress(c.provider) === hosts.p2!.address)!;
    expect(BigInt(p2Before.redeemed)).toBeLessThan(BigInt(p2Before.spent));
    for (const name of ["p1", "p2", "p3"]) {
      const host = hosts[name]!;
      const redeemed = await runGotong(["provider", "redeem", "--key", join(host.home, "key"), "--deployment", deploymentFile, "--json"], env(host), { netns: host.namespace });
      expect(redeemed.code, redeemed.stderr).toBe(0);
    }
    const listed = await channels();
    const logs = await deployer.public.getContractEvents({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, eventName: "VoucherRedeemed", fromBlock: 0n });
    for (const name of ["p1", "p2", "p3"]) {
      const provider = hosts[name]!.address;
      const toldHere = sum(told.filter((t) => t.provider === provider).map((t) => t.cost));
      const mine = listed.channels.filter((c) => getAddress(c.provider) === provider);
      expect(mine.length, `${name}'s channels`).toBe(1);
      expect(BigInt(mine[0]!.spent), `${name} spent`).toBe(toldHere);
      expect(BigInt(mine[0]!.redeemed), `${name} redeemed`).toBe(toldHere);
      const events = logs.filter((l) => getAddress(l.args.provider!) === provider);
      expect(sum(events.map((l) => l.args.amount!)), `${name} VoucherRedeemed`).toBe(toldHere);
      for (const e of events) expect(e.args.royalty! + e.args.fee! + e.args.providerShare!).toBe(e.args.amount!);
    }
    expect(listed.channels.some((c) => getAddress(c.provider) === hosts.p4!.address)).toBe(false);
    expect(BigInt(listed.totals.spent)).toBe(sum(told.map((t) => t.cost)));
    expect(BigInt(listed.totals.redeemed)).toBe(sum(told.map((t) => t.cost)));
  });

  it("says what each host paid in gas on this chain, and the gateway deposited only with providers that served", async () => {
    // Every transaction of the run, by sender and call (Anvil: a block per transaction).
    const contracts = new Map<string, { name: string; abi: Abi }>([
      [deployment.token.address.toLowerCase(), { name: "token", abi: TestTokenArtifact.abi as Abi }],
      [deployment.modelRegistry.toLowerCase(), { name: "ModelRegistry", abi: ModelRegistryArtifact.abi as Abi }],
      [deployment.providerRegistry.toLowerCase(), { name: "ProviderRegistry", abi: ProviderRegistryArtifact.abi as Abi }],
      [deployment.paymentChannels.toLowerCase(), { name: "PaymentChannels", abi: PaymentChannelsArtifact.abi as Abi }],
    ]);
    const roleOf = new Map(Object.entries(hosts).map(([name, h]) => [h.address.toLowerCase(), name === "chain" ? "operator (gotong deploy)" : name]));
    const gas = new Map<string, Map<string, { count: number; gas: bigint }>>();
    const latest = await deployer.public.getBlockNumber();
    for (let n = 0n; n <= latest; n++) {
      const block = await deployer.public.getBlock({ blockNumber: n, includeTransactions: true });
      for (const tx of block.transactions) {
        const role = roleOf.get(tx.from.toLowerCase()) ?? "creator and faucet";
        const receipt = await deployer.public.getTransactionReceipt({ hash: tx.hash });
        const target = tx.to ? contracts.get(tx.to.toLowerCase()) : undefined;
        let call = tx.to ? "other contract" : "contract creation";
        if (target) {
          try {
            call = `${target.name}.${decodeFunctionData({ abi: target.abi, data: tx.input }).functionName}`;
          } catch {
            call = `${target.name}.?`;
          }
        }
        const calls = gas.get(role) ?? new Map();
        const entry = calls.get(call) ?? { count: 0, gas: 0n };
        calls.set(call, { count: entry.count + 1, gas: entry.gas + receipt.gasUsed });
        gas.set(role, calls);
      }
    }
    for (const [role, calls] of gas) {
      const total = sum([...calls.values()].map((c) => c.gas));
      process.stdout.write(`manyHosts gas: ${role}: ${total} (${[...calls].map(([call, c]) => `${call} ×${c.count} ${c.gas}`).join(", ")})\n`);
    }
    // One channel per provider that served, none with the endpoint nobody saw answer.
    expect(gas.get("gateway")?.get("PaymentChannels.open")?.count).toBe(3);
    for (const name of ["p1", "p2", "p3"]) expect(gas.get(name)?.get("PaymentChannels.redeemBatch")?.count ?? gas.get(name)?.get("PaymentChannels.redeem")?.count, `${name} redeemed`).toBeGreaterThan(0);
    expect([...(gas.get("p4")?.keys() ?? [])].some((call) => call.startsWith("PaymentChannels"))).toBe(false);
  });
});
