import type { Address, PublicClient } from "viem";
import { ProviderRegistryArtifact } from "../../chain/contracts.generated.ts";
import type { Deployment } from "../../chain/deployment.ts";
import { decodeCapabilities, type Capability } from "../../protocol/capabilities.ts";
import { readProviderRecord } from "./createRecordWatcher.ts";

/** One provider as `gotong provider list` shows it: its registration, offers and verification record. */
export type ProviderListing = {
  address: Address;
  endpoint: string;
  /** Active stake, token base units. */
  stake: bigint;
  /** Stake on its way out (still slashable until withdrawn), token base units. */
  unstaking: bigint;
  /** Stake slashed for fraud so far, token base units. */
  slashed: bigint;
  challengesPassed: bigint;
  challengesFailed: bigint;
  /** Suspended for fraud: never routed to, no new channels. */
  suspended: boolean;
  paused: boolean;
  /** Whether the registry counts it active (staked enough, not paused, not suspended). */
  active: boolean;
  offers: { modelId: bigint; pricePerMillionInput: bigint; pricePerMillionOutput: bigint; capabilities: Capability[] }[];
};

/**
 * Every provider registered on the deployment, read from the chain: ProviderRegistry's
 * registration and offers, and ServingVerification's record (passed and failed challenges, slashed
 * stake, suspension) where the deployment has it (otherwise those read as zero and not suspended,
 * the registry's own `slashed`/`suspended` fields used when it has them).
 *
 * @example const providers = await listProviders(reader, deployment);
 */
export async function listProviders(client: PublicClient, deployment: Deployment & { servingVerification?: Address }): Promise<ProviderListing[]> {
  const registry = { address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi } as const;
  const addresses = (await client.readContract({ ...registry, functionName: "getProviders" })) as readonly Address[];
  return Promise.all(
    addresses.map(async (address) => {
      const [provider, offers, active, record] = await Promise.all([
        client.readContract({ ...registry, functionName: "getProvider", args: [address] }),
        client.readContract({ ...registry, functionName: "getOffers", args: [address] }),
        client.readContract({ ...registry, functionName: "isActive", args: [address] }) as Promise<boolean>,
        deployment.servingVerification ? readProviderRecord(client, deployment.servingVerification, address) : Promise.resolve(undefined),
      ]);
      // The registry's verifier fields, on builds that have them (they came with ServingVerification).
      const registered = provider as typeof provider & { slashed?: bigint; suspended?: boolean };
      return {
        address,
        endpoint: registered.endpoint,
        stake: registered.stake,
        unstaking: registered.unstaking,
        slashed: record?.slashed ?? registered.slashed ?? 0n,
        challengesPassed: record?.challengesPassed ?? 0n,
        challengesFailed: record?.challengesFailed ?? 0n,
        suspended: record?.suspended ?? registered.suspended ?? false,
        paused: registered.paused,
        active,
        offers: (offers as readonly { modelId: bigint; pricePerMillionInput: bigint; pricePerMillionOutput: bigint; capabilities: bigint }[]).map((o) => ({
          modelId: o.modelId,
          pricePerMillionInput: o.pricePerMillionInput,
          pricePerMillionOutput: o.pricePerMillionOutput,
          capabilities: decodeCapabilities(o.capabilities),
        })),
      };
    }),
  );
}
