import type { Chain, PublicClient, Transport } from "viem";
import type { Deployment } from "../../chain/deployment.ts";
import { readTokenDomain } from "../x402/readTokenDomain.ts";

/**
 * Whether a provider started on `deployment` accepts x402: as startProvider decides, when the
 * deployment has an X402Splitter and its payment token takes EIP-3009 authorizations (it says its
 * EIP-712 domain).
 *
 * @example const x402Support = await providerAcceptsX402(client, deployment);
 */
export async function providerAcceptsX402(client: PublicClient<Transport, Chain>, deployment: Deployment): Promise<boolean> {
  if (!deployment.x402Splitter) return false;
  return readTokenDomain(client, deployment.token.address).then(
    () => true,
    () => false,
  );
}
