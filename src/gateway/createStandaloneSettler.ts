import type { Hex, PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Deployment } from "../chain/deployment.ts";
import { ProviderRegistryArtifact } from "../chain/contracts.generated.ts";
import type { Logger } from "../common/logger.ts";
import { chainTime } from "../funding/chainTime.ts";
import { readChannel } from "../payments/readChannel.ts";
import { signVoucher } from "../protocol/voucher.ts";
import type { GatewayStore } from "./createGatewayStore.ts";
import { createSettler } from "./createSettler.ts";

/**
 * A settler outside a running gateway (a CLI command about to close channels): it signs with the
 * gateway's key (or an agent's, which its wallet vouches for) and finds each provider's endpoint in
 * the registry, so the provider gets the voucher for everything spent before a close starts.
 *
 * @param key The key that signs the store's vouchers.
 * @example await createStandaloneSettler(reader, key, deployment, store, logger).settle();
 */
export function createStandaloneSettler(client: PublicClient, key: Hex, deployment: Deployment, store: GatewayStore, logger: Logger) {
  const account = privateKeyToAccount(key);
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels };
  return createSettler({
    store,
    channels: { voucherFor: (c) => signVoucher(account, domain, { channelId: c.channelId, epoch: c.epoch, cumulativeAmount: c.spent }) },
    endpointOf: async (provider) => {
      const p = (await client.readContract({ address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "getProvider", args: [provider] })) as unknown as { endpoint: string };
      return p.endpoint || undefined;
    },
    readChannel: (id) => readChannel(client, deployment.paymentChannels, id),
    chainNow: () => chainTime(client),
    logger,
  });
}
