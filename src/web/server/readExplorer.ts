import type { Address, Hex, PublicClient } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { ModelRegistryArtifact, PaymentChannelsArtifact, ProviderRegistryArtifact } from "../../chain/contracts.generated.ts";
import type { GatewayStore } from "../../gateway/createGatewayStore.ts";
import type { Router } from "../../gateway/createRouter.ts";
import { readProviderRecord } from "../../gateway/challenges/createRecordWatcher.ts";
import { loadManifest } from "../../model/loadManifest.ts";
import { decodeCapabilities, type Capability } from "../../protocol/capabilities.ts";
import { PROVIDER_EARNINGS_HELD } from "./readWithdrawable.ts";

/** What the explorer shows of a model. Amounts are decimal strings of token base units. */
export type ExplorerModel = {
  modelId: string;
  name: string;
  owner: Address;
  weightsHash: Hex;
  manifestHash: Hex;
  /** SPDX licence from the creator's signed manifest, when this machine holds it. */
  license: string | undefined;
  royaltyBps: number;
  /** Providers offering it now. */
  providers: number;
  /** Requests this gateway paid for, and their tokens. */
  requests: number;
  inputTokens: string;
  outputTokens: string;
  /** Paid for it on-chain (redeemed vouchers), and the royalty part of that. */
  paid: string;
  royalties: string;
  /** Royalties accrued and not yet withdrawn by the token's owner. */
  unwithdrawnRoyalties: string;
  /** Royalties its owners have withdrawn so far. */
  withdrawnRoyalties: string;
};

/** What the explorer shows of a provider. */
export type ExplorerProvider = {
  address: Address;
  endpoint: string;
  active: boolean;
  stake: string;
  unstaking: string;
  hpkePublicKey: Hex;
  offers: { modelId: string; model: string; pricePerMillionInput: string; pricePerMillionOutput: string; capabilities: Capability[] }[];
  /** Round trip of its health check from this gateway, ms; undefined when it did not answer. */
  latencyMs: number | undefined;
  /** This gateway's record of it: receipts checked and accepted, and whether it was caught lying. */
  receiptsAccepted: number;
  excluded: boolean;
  /** Its verification record on-chain (ServingVerification; zero and false on deployments without it): challenges passed and failed, stake slashed, suspended for fraud. */
  challengesPassed: string;
  challengesFailed: string;
  slashed: string;
  suspended: boolean;
  /** Its share of redeemed payments, what it has not withdrawn yet, and what it has. */
  earned: string;
  unwithdrawnEarnings: string;
  withdrawnEarnings: string;
  /** "held": the contract keeps its share until it withdraws it; "direct": paid at redeem, nothing to withdraw. */
  payout: "held" | "direct";
};

/** Options of {@link readExplorer}. */
export type ReadExplorerOptions = {
  client: PublicClient;
  deployment: Deployment;
  store: GatewayStore;
  router: Router;
  manifestsDir: string;
  /** Measures a provider's latency (cached by the caller). */
  latencyOf(endpoint: string): Promise<number | undefined>;
};

/** Every `VoucherRedeemed` since the deployment, with its block, for totals and charts. */
export async function readRedemptions(client: PublicClient, deployment: Deployment) {
  const logs = await client.getContractEvents({
    address: deployment.paymentChannels,
    abi: PaymentChannelsArtifact.abi,
    eventName: "VoucherRedeemed",
    fromBlock: BigInt(deployment.startBlock),
    toBlock: "latest",
  });
  return logs.map((log) => ({
    blockNumber: log.blockNumber,
    channelId: log.args.channelId as Hex,
    provider: log.args.provider as Address,
    modelId: log.args.modelId as bigint,
    amount: log.args.amount as bigint,
    providerShare: log.args.providerShare as bigint,
    royalty: log.args.royalty as bigint,
    fee: log.args.fee as bigint,
  }));
}

/**
 * Reads the network as the explorer shows it: every registered model (owner, hashes, licence,
 * royalty, usage, earnings) and every registered provider (stake, offers, latency, this gateway's
 * record of its receipts, earnings).
 *
 * @example const { models, providers } = await readExplorer({ client, deployment, store, router, manifestsDir, latencyOf });
 */
export async function readExplorer(options: ReadExplorerOptions): Promise<{ models: ExplorerModel[]; providers: ExplorerProvider[] }> {
  const { client, deployment, store, router } = options;
  const models = { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi } as const;
  const registry = { address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi } as const;
  const channels = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const range = { fromBlock: BigInt(deployment.startBlock), toBlock: "latest" } as const;
  const [modelCount, providerList, redemptions, offered, royaltyWithdrawals, earningsWithdrawals] = await Promise.all([
    client.readContract({ ...models, functionName: "modelCount" }),
    client.readContract({ ...registry, functionName: "getProviders" }),
    readRedemptions(client, deployment),
    router.listModels().catch(() => []),
    client.getContractEvents({ ...channels, eventName: "ModelEarningsWithdrawn", ...range }),
    PROVIDER_EARNINGS_HELD ? client.getContractEvents({ ...channels, eventName: "EarningsWithdrawn", ...range }) : Promise.resolve([]),
  ]);
  const receipts = store.listReceipts(100_000);

  const modelRows = await Promise.all(
    Array.from({ length: Number(modelCount) }, (_, i) => BigInt(i + 1)).map(async (modelId): Promise<ExplorerModel> => {
      const [entry, owner, unwithdrawn] = await Promise.all([
        client.readContract({ ...models, functionName: "getModel", args: [modelId] }),
        client.readContract({ ...models, functionName: "ownerOf", args: [modelId] }),
        client.readContract({ ...channels, functionName: "modelEarnings", args: [modelId] }),
      ]);
      const license = await loadManifest(options.manifestsDir, entry.manifestHash).then(
        (signed) => signed.manifest.license,
        () => undefined,
      );
      const mine = receipts.filter((r) => r.modelId === modelId);
      const paidHere = redemptions.filter((r) => r.modelId === modelId);
      return {
        modelId: modelId.toString(),
        name: entry.name,
        owner,
        weightsHash: entry.weightsHash,
        manifestHash: entry.manifestHash,
        license,
        royaltyBps: Number(entry.royaltyBps),
        providers: offered.flatMap((m) => m.offers).filter((o) => o.modelId === modelId).length,
        requests: mine.length,
        inputTokens: mine.reduce((s, r) => s + r.receipt.inputTokens, 0n).toString(),
        outputTokens: mine.reduce((s, r) => s + r.receipt.outputTokens, 0n).toString(),
        paid: paidHere.reduce((s, r) => s + r.amount, 0n).toString(),
        royalties: paidHere.reduce((s, r) => s + r.royalty, 0n).toString(),
        unwithdrawnRoyalties: unwithdrawn.toString(),
        withdrawnRoyalties: royaltyWithdrawals.filter((log) => log.args.modelId === modelId).reduce((sum, log) => sum + log.args.amount!, 0n).toString(),
      };
    }),
  );
  const nameOf = new Map(modelRows.map((m) => [m.modelId, m.name]));

  const providerRows = await Promise.all(
    providerList.map(async (address): Promise<ExplorerProvider> => {
      const verification = (deployment as Deployment & { servingVerification?: Address }).servingVerification;
      const [record, active, offers, unwithdrawn, verified] = await Promise.all([
        client.readContract({ ...registry, functionName: "getProvider", args: [address] }),
        client.readContract({ ...registry, functionName: "isActive", args: [address] }),
        client.readContract({ ...registry, functionName: "getOffers", args: [address] }),
        PROVIDER_EARNINGS_HELD ? client.readContract({ ...channels, functionName: "earnings", args: [address] }) : Promise.resolve(0n),
        verification ? readProviderRecord(client, verification, address) : Promise.resolve(undefined),
      ]);
      return {
        address,
        endpoint: record.endpoint,
        active,
        stake: record.stake.toString(),
        unstaking: record.unstaking.toString(),
        hpkePublicKey: record.hpkePublicKey,
        offers: offers.map((o) => ({
          modelId: o.modelId.toString(),
          model: nameOf.get(o.modelId.toString()) ?? `#${o.modelId}`,
          pricePerMillionInput: o.pricePerMillionInput.toString(),
          pricePerMillionOutput: o.pricePerMillionOutput.toString(),
          capabilities: decodeCapabilities(o.capabilities),
        })),
        latencyMs: active ? await options.latencyOf(record.endpoint) : undefined,
        receiptsAccepted: receipts.filter((r) => r.provider.toLowerCase() === address.toLowerCase()).length,
        excluded: router.isUntrusted(address),
        challengesPassed: (verified?.challengesPassed ?? 0n).toString(),
        challengesFailed: (verified?.challengesFailed ?? 0n).toString(),
        slashed: (verified?.slashed ?? 0n).toString(),
        suspended: verified?.suspended ?? false,
        earned: redemptions.filter((r) => r.provider.toLowerCase() === address.toLowerCase()).reduce((s, r) => s + r.providerShare, 0n).toString(),
        unwithdrawnEarnings: unwithdrawn.toString(),
        withdrawnEarnings: earningsWithdrawals.filter((log) => log.args.account?.toLowerCase() === address.toLowerCase()).reduce((sum, log) => sum + log.args.amount!, 0n).toString(),
        payout: PROVIDER_EARNINGS_HELD ? "held" : "direct",
      };
    }),
  );
  return { models: modelRows, providers: providerRows };
}
