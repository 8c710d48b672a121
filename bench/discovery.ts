/**
 * Discovery at scale, on a real node (Anvil): 1,000 providers with 10 offers each (10,000 offers,
 * 13,000 registry transactions packed into full blocks with empty blocks between, some 560
 * blocks), and the gateway's discovery reading them:
 *
 *   - time to a full view: the first scan from the deployment block, paged in log queries of at
 *     most 100 blocks (so this short chain takes several pages; gateways default to 2,000), into a
 *     fresh gateway store (cursor and offers saved after each page), against the
 *     baseline of reading each provider's state by contract calls (what discovery did before:
 *     `getProviders`, then `isActive`, `getProvider` and `getOffers` per provider, on every refresh);
 *   - per-block update cost: a refresh after one block that reprices one offer (time and RPC calls),
 *     and a refresh when no block came;
 *   - resume: a gateway restarted on the same store after 100 more blocks reads only those;
 *   - the gateway's memory: heap held by the 10,000 offers and discovery's state (after a GC).
 *
 *   npx tsx bench/discovery.ts     writes bench/results/discovery.json and the README's discovery table
 *   npm run bench                  includes it in bench/results/latest.json
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { encodeFunctionData, erc20Abi, keccak256, toHex, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ModelRegistryArtifact, ProviderRegistryArtifact, TestTokenArtifact } from "../src/chain/contracts.generated.ts";
import { createClients } from "../src/chain/createClients.ts";
import type { Deployment } from "../src/chain/deployment.ts";
import { deployContracts } from "../src/chain/deployContracts.ts";
import { startAnvil } from "../src/chain/startAnvil.ts";
import { DEVNET_DEPLOYER_KEY } from "../src/chain/startDevnet.ts";
import { bigintAsString } from "../src/common/bigintJson.ts";
import { createGatewayStore } from "../src/gateway/createGatewayStore.ts";
import { createRegistryLogSource, type RegistryLogSource } from "../src/gateway/discovery/createRegistryLogSource.ts";
import { createOfferDiscovery, discoveryScope } from "../src/gateway/discoverOffers.ts";
import { freePort } from "../test/helpers/ports.ts";
import { fillReadme } from "./fillReadme.ts";
import { median } from "./median.ts";

/** What the benchmark measured. */
export type DiscoveryBench = {
  providers: number;
  offers: number;
  /** Blocks from the deployment block to the head at the full view. */
  blocks: number;
  maxBlockRange: number;
  fullView: { ms: number; pages: number; events: number; rpcCalls: number; offersSeen: number };
  baseline: { ms: number; rpcCalls: number; offersSeen: number };
  perBlock: { medianMs: number; rpcCalls: number; idleMedianMs: number; idleRpcCalls: number; samples: number };
  resume: { blocksRead: number; ms: number; rpcCalls: number };
  memory: { heapBytes: number; bytesPerOffer: number; measuredAfterGc: boolean };
  /** Gas (receipt) of a provider with 10 offers pausing them all when it stops, and resuming them when it starts. */
  pauseGas: { pause: bigint; resume: bigint };
};

/** 1,000 providers; fewer with GOTONG_BENCH_DISCOVERY_PROVIDERS (a quick run). */
const PROVIDERS = Number(process.env.GOTONG_BENCH_DISCOVERY_PROVIDERS ?? 1_000);
const OFFERS_PER_PROVIDER = 10;
const MAX_BLOCK_RANGE = 100;
const EMPTY_BLOCKS_BETWEEN = 25;

/** A source that counts the RPC calls discovery makes through it. */
function counted(source: RegistryLogSource) {
  let calls = 0;
  const count = <T>(p: Promise<T>) => (calls++, p);
  return {
    calls: () => calls,
    reset: () => void (calls = 0),
    source: {
      blockNumber: () => count(source.blockNumber()),
      blockHash: (n: bigint) => count(source.blockHash(n)),
      logs: (r: { fromBlock: bigint; toBlock: bigint }) => count(source.logs(r)),
      minStake: () => count(source.minStake()),
    } satisfies RegistryLogSource,
  };
}

/** Sends JSON-RPC calls in batches of `size` per HTTP request (in order), throwing on the first error. */
async function rpcBatch(url: string, calls: { method: string; params: unknown[] }[], size = 250): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < calls.length; i += size) {
    const body = calls.slice(i, i + size).map((c, j) => ({ jsonrpc: "2.0", id: i + j, ...c }));
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const answers = (await res.json()) as { id: number; result?: unknown; error?: { message: string } }[];
    for (const a of answers.sort((x, y) => x.id - y.id)) {
      if (a.error) throw new Error(`${calls[a.id]!.method} failed: ${a.error.message}`);
      out.push(a.result);
    }
  }
  return out;
}

/**
 * Registers `PROVIDERS` providers with `OFFERS_PER_PROVIDER` offers each, from impersonated
 * accounts (no keys, no signing), 50 providers at a time packed into full blocks, each batch
 * followed by `EMPTY_BLOCKS_BETWEEN` empty blocks so the registrations spread over many log pages.
 * (Anvil slows down as its chain grows: one block per transaction would take minutes.)
 */
async function populate(rpcUrl: string, deployment: Deployment, models: bigint[]) {
  const providers = Array.from({ length: PROVIDERS }, (_, i) => `0x${(0x100000n + BigInt(i)).toString(16).padStart(40, "0")}` as Address);
  await rpcBatch(rpcUrl, [{ method: "anvil_autoImpersonateAccount", params: [true] }]);
  await rpcBatch(rpcUrl, providers.map((p) => ({ method: "anvil_setBalance", params: [p, "0x56BC75E2D63100000"] })));
  const stake = BigInt(deployment.minStake);
  const txs: { method: string; params: unknown[] }[] = [];
  const tx = (from: Address, nonce: number, to: Address, data: Hex) => ({ method: "eth_sendTransaction", params: [{ from, to, data, nonce: toHex(nonce), gas: toHex(400_000) }] });
  providers.forEach((p, i) => {
    let nonce = 0;
    txs.push(tx(p, nonce++, deployment.token.address, encodeFunctionData({ abi: TestTokenArtifact.abi, functionName: "mint", args: [p, stake] })));
    txs.push(tx(p, nonce++, deployment.token.address, encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [deployment.providerRegistry, stake] })));
    const hpke = keccak256(toHex(`hpke ${i}`));
    txs.push(tx(p, nonce++, deployment.providerRegistry, encodeFunctionData({ abi: ProviderRegistryArtifact.abi, functionName: "register", args: [`http://provider-${i}.example:8601`, hpke, stake] })));
    for (let k = 0; k < OFFERS_PER_PROVIDER; k++) {
      const modelId = models[(i + k) % models.length]!;
      txs.push(tx(p, nonce++, deployment.providerRegistry, encodeFunctionData({ abi: ProviderRegistryArtifact.abi, functionName: "setOffer", args: [modelId, BigInt(1_000 + i), BigInt(2_000 + i), 1n] })));
    }
  });
  await rpcBatch(rpcUrl, [{ method: "evm_setAutomine", params: [false] }]);
  const perBatch = 50 * (3 + OFFERS_PER_PROVIDER);
  for (let i = 0; i < txs.length; i += perBatch) {
    await rpcBatch(rpcUrl, txs.slice(i, i + perBatch));
    for (let pending = Infinity; pending > 0; ) {
      await rpcBatch(rpcUrl, [{ method: "evm_mine", params: [] }]);
      const [status] = (await rpcBatch(rpcUrl, [{ method: "txpool_status", params: [] }])) as { pending: Hex; queued: Hex }[];
      pending = Number(status!.pending) + Number(status!.queued);
    }
    await rpcBatch(rpcUrl, [{ method: "anvil_mine", params: [toHex(EMPTY_BLOCKS_BETWEEN)] }]);
  }
  await rpcBatch(rpcUrl, [{ method: "evm_setAutomine", params: [true] }]);
  return providers;
}

/** What discovery did before it read events: every provider's state by contract calls. */
async function readEveryProvider(client: PublicClient, deployment: Deployment) {
  let calls = 0;
  const registry = { address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi } as const;
  const read = <T>(args: Parameters<PublicClient["readContract"]>[0]) => (calls++, client.readContract(args) as Promise<T>);
  const addresses = await read<readonly Address[]>({ ...registry, functionName: "getProviders" });
  let offers = 0;
  // In bounded batches: 3,000 calls at once would only measure Anvil's queue.
  for (let i = 0; i < addresses.length; i += 50) {
    const batch = await Promise.all(
      addresses.slice(i, i + 50).map(async (p) => {
        const [active, , list] = await Promise.all([
          read<boolean>({ ...registry, functionName: "isActive", args: [p] }),
          read({ ...registry, functionName: "getProvider", args: [p] }),
          read<readonly unknown[]>({ ...registry, functionName: "getOffers", args: [p] }),
        ]);
        return active ? list.length : 0;
      }),
    );
    offers += batch.reduce((a, b) => a + b, 0);
  }
  return { calls, offers };
}

/** A GC from inside a running process (tsx starts node without --expose-gc). */
function collectGarbage(): boolean {
  try {
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
    return true;
  } catch {
    return false;
  }
}

/** Runs the benchmark. */
export async function benchDiscovery(): Promise<DiscoveryBench> {
  const anvil = await startAnvil({ port: await freePort() });
  const dir = mkdtempSync(join(tmpdir(), "gotong-bench-discovery-"));
  try {
    const deployer = createClients({ rpcUrl: anvil.rpcUrl, chainId: 31337, account: privateKeyToAccount(DEVNET_DEPLOYER_KEY) });
    const deployment = await deployContracts(deployer, { rpcUrl: anvil.rpcUrl });
    const client = deployer.public as PublicClient;
    const models: bigint[] = [];
    for (let i = 0; i < 20; i++) {
      const hash = await deployer.wallet.writeContract({ address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "register", args: [`bench-model-${i}`, keccak256(toHex(`weights ${i}`)), keccak256(toHex(`manifest ${i}`)), "ipfs://bench", 500] });
      await client.waitForTransactionReceipt({ hash });
      models.push(BigInt(i + 1));
    }
    const started = Date.now();
    const providers = await populate(anvil.rpcUrl, deployment, models);
    console.error(`discovery bench: ${PROVIDERS * OFFERS_PER_PROVIDER} offers registered in ${Date.now() - started} ms`);

    const head = await client.getBlockNumber();
    const blocks = Number(head - BigInt(deployment.startBlock));
    const store = createGatewayStore(join(dir, "gateway.db"));
    const rpc = counted(createRegistryLogSource(client, deployment));
    const scope = discoveryScope(deployment);
    const discovery = createOfferDiscovery({ source: rpc.source, store: store.discovery, scope, startBlock: BigInt(deployment.startBlock), maxBlockRange: MAX_BLOCK_RANGE });

    const gcBefore = collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    let t = performance.now();
    const offers = await discovery.refresh();
    const fullView = { ms: Math.round(performance.now() - t), pages: discovery.lastRefresh()!.pages, events: discovery.lastRefresh()!.events, rpcCalls: rpc.calls(), offersSeen: offers.length };
    const measuredAfterGc = gcBefore && collectGarbage();
    const heapBytes = process.memoryUsage().heapUsed - heapBefore;

    t = performance.now();
    const baselineRead = await readEveryProvider(client, deployment);
    const baseline = { ms: Math.round(performance.now() - t), rpcCalls: baselineRead.calls, offersSeen: baselineRead.offers };

    // One block that reprices one offer, then a refresh; and refreshes with no new block.
    const perBlockMs: number[] = [];
    const idleMs: number[] = [];
    let perBlockCalls = 0;
    let idleCalls = 0;
    const samples = 20;
    for (let i = 0; i < samples; i++) {
      const p = providers[i]!;
      // Reprices one of its offers (model i % 20 is among provider i's ten).
      const [hash] = (await rpcBatch(anvil.rpcUrl, [{ method: "eth_sendTransaction", params: [{ from: p, to: deployment.providerRegistry, gas: toHex(200_000), data: encodeFunctionData({ abi: ProviderRegistryArtifact.abi, functionName: "setOffer", args: [models[i % models.length]!, 7n, 7n, 1n] }) }] }])) as Hex[];
      const receipt = await client.waitForTransactionReceipt({ hash: hash! });
      if (receipt.status !== "success") throw new Error(`the repricing transaction reverted (${hash})`);
      rpc.reset();
      t = performance.now();
      const after = await discovery.refresh();
      perBlockMs.push(performance.now() - t);
      perBlockCalls = rpc.calls();
      if (discovery.lastRefresh()!.events !== 1 || after.length !== offers.length) throw new Error(`a one-offer block read ${discovery.lastRefresh()!.events} events and left ${after.length} offers`);
      rpc.reset();
      t = performance.now();
      await discovery.refresh();
      idleMs.push(performance.now() - t);
      idleCalls = rpc.calls();
    }

    // A restart on the same store, 100 blocks later: only those are read.
    await rpcBatch(anvil.rpcUrl, [{ method: "anvil_mine", params: [toHex(100)] }]);
    const restartedRpc = counted(createRegistryLogSource(client, deployment));
    const restarted = createOfferDiscovery({ source: restartedRpc.source, store: store.discovery, scope, startBlock: BigInt(deployment.startBlock), maxBlockRange: MAX_BLOCK_RANGE });
    t = performance.now();
    const resumed = await restarted.refresh();
    const last = restarted.lastRefresh()!;
    const resume = { blocksRead: Number(last.toBlock - last.fromBlock + 1n), ms: Math.round(performance.now() - t), rpcCalls: restartedRpc.calls() };
    if (resumed.length !== offers.length) throw new Error(`the restarted discovery sees ${resumed.length} offers, not ${offers.length}`);
    store.close();

    // What a clean stop costs the provider, and the restart after it.
    const setPaused = async (paused: boolean) => {
      const [hash] = (await rpcBatch(anvil.rpcUrl, [{ method: "eth_sendTransaction", params: [{ from: providers[0], to: deployment.providerRegistry, gas: toHex(100_000), data: encodeFunctionData({ abi: ProviderRegistryArtifact.abi, functionName: "setPaused", args: [paused] }) }] }])) as Hex[];
      const receipt = await client.waitForTransactionReceipt({ hash: hash! });
      if (receipt.status !== "success") throw new Error(`setPaused(${paused}) reverted (${hash})`);
      return receipt.gasUsed;
    };
    const pauseGas = { pause: await setPaused(true), resume: await setPaused(false) };

    return {
      providers: PROVIDERS,
      offers: PROVIDERS * OFFERS_PER_PROVIDER,
      blocks,
      maxBlockRange: MAX_BLOCK_RANGE,
      fullView,
      baseline,
      perBlock: { medianMs: round1(median(perBlockMs)), rpcCalls: perBlockCalls, idleMedianMs: round1(median(idleMs)), idleRpcCalls: idleCalls, samples },
      resume,
      memory: { heapBytes, bytesPerOffer: Math.round(heapBytes / offers.length), measuredAfterGc },
      pauseGas,
    };
  } finally {
    await anvil.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** The README's discovery table. */
export function renderDiscoveryTable(r: DiscoveryBench): string {
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  return [
    `| ${r.offers.toLocaleString("en")} offers (${r.providers.toLocaleString("en")} providers), ${r.blocks.toLocaleString("en")} blocks | events, ${r.maxBlockRange.toLocaleString("en")}-block pages | baseline: contract reads per provider |`,
    "|---|---|---|",
    `| time to a full view | ${r.fullView.ms.toLocaleString("en")} ms (${r.fullView.pages} pages, ${r.fullView.events.toLocaleString("en")} events, ${r.fullView.rpcCalls} RPC calls) | ${r.baseline.ms.toLocaleString("en")} ms (${r.baseline.rpcCalls.toLocaleString("en")} RPC calls) |`,
    `| refresh after a block changing one offer | ${r.perBlock.medianMs} ms, ${r.perBlock.rpcCalls} RPC calls (median of ${r.perBlock.samples}) | the same full read |`,
    `| refresh with no new block | ${r.perBlock.idleMedianMs} ms, ${r.perBlock.idleRpcCalls} RPC calls | the same full read |`,
    `| restart on the same store, 100 blocks later | ${r.resume.blocksRead} blocks read, ${r.resume.ms} ms, ${r.resume.rpcCalls} RPC calls | the same full read |`,
    `| gateway heap for the offers and discovery's state | ${mb(r.memory.heapBytes)} MB (${r.memory.bytesPerOffer} bytes per offer${r.memory.measuredAfterGc ? "" : ", without a GC"}) | |`,
    "",
    `A provider's clean stop pauses its offers on-chain: ${r.pauseGas.pause.toLocaleString("en")} gas (10 offers, one storage write); its next start resumes them: ${r.pauseGas.resume.toLocaleString("en")} gas.`,
  ].join("\n");
}

if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) {
  const result = await benchDiscovery();
  writeFileSync(join(import.meta.dirname, "results", "discovery.json"), JSON.stringify(result, bigintAsString, 2) + "\n");
  console.log(JSON.stringify(result, bigintAsString, 2));
  fillReadme("discovery-bench", renderDiscoveryTable(result));
  console.log(renderDiscoveryTable(result));
}
