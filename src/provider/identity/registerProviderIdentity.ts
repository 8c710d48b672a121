import { getAddress, type Address, type LocalAccount } from "viem";
import { bindAgentWallet, registerAgentIdentity } from "../../agent/registerAgentIdentity.ts";
import type { ChainClients } from "../../chain/createClients.ts";
import { AgentRegistryArtifact } from "../../chain/contracts.generated.ts";
import type { Deployment } from "../../chain/deployment.ts";
import { writeAndWait } from "../../chain/writeAndWait.ts";
import { GotongError } from "../../common/errors.ts";
import { findProviderAgentId } from "./findProviderAgentId.ts";
import { providerRegistrationUri } from "./providerRegistrationUri.ts";

/** Options of {@link registerProviderIdentity}. */
export type RegisterProviderIdentityOptions = {
  /** The provider's public URL (its ProviderRegistry endpoint): the registration file lists `/v1` and `/mcp` under it. */
  endpoint: string;
  /** Whether the provider accepts x402 (see providerAcceptsX402): the file's `x402Support`. */
  x402Support: boolean;
  /** The registration file's name. Default: `Gotong provider <address>`. */
  name?: string;
};

/** A provider's ERC-8004 identity, and what registering it changed. */
export type ProviderIdentity = {
  agentId: bigint;
  /** The identity registry. */
  registry: Address;
  /** The agent's wallet: the provider's own address. */
  wallet: Address;
  /** The registration file now registered (a `data:` URI). */
  uri: string;
  /** Whether the agent was registered now (false: it existed already). */
  created: boolean;
  /** Whether an existing agent's URI was changed (`setAgentURI`) to `uri`. */
  uriUpdated: boolean;
  /** Whether the wallet was bound now with the provider's signature (an existing agent's wallet was another or unset). */
  walletBound: boolean;
};

/**
 * Registers the provider `clients` acts as as an ERC-8004 agent whose wallet is the provider's own
 * address, so x402 payments it settles through X402Splitter count as payments to that agent in
 * AgentReputation. Idempotent: an agent the provider already owns (findProviderAgentId) is kept, its
 * URI updated when the registration file changed, and its wallet bound again (the provider signs
 * ERC-8004's `AgentWalletSet` digest, an EOA's ECDSA signature) when it is not the provider.
 *
 * @example const { agentId } = await registerProviderIdentity(clients, deployment, { endpoint: provider.url, x402Support: true });
 */
export async function registerProviderIdentity(clients: ChainClients, deployment: Deployment, options: RegisterProviderIdentityOptions): Promise<ProviderIdentity> {
  const registry = deployment.agentRegistry;
  if (!registry) {
    throw new GotongError("This deployment has no agent registry: a provider identity is an ERC-8004 agent there", {
      code: "agents_not_deployed",
      hint: "Use a deployment with agent contracts (`gotong deploy` or the devnet deploys them), or pass --deployment FILE.",
    });
  }
  const provider = getAddress(clients.account.address);
  const key = clients.account as LocalAccount;
  if (typeof key.sign !== "function") {
    throw new GotongError("The provider's account cannot sign a raw digest, which binding its agent wallet needs", { code: "invalid_key", hint: "Use the provider's private key (--key FILE or --name NAME)." });
  }
  const uri = providerRegistrationUri({ address: provider, chainId: deployment.chainId, endpoint: options.endpoint, x402Support: options.x402Support, name: options.name });
  const identity = { registry, wallet: provider, uri };
  const existing = await findProviderAgentId(clients.public, deployment, provider);
  if (existing === undefined) {
    const agentId = await registerAgentIdentity(clients, deployment, { uri, wallet: provider, agentKey: key });
    return { agentId, ...identity, created: true, uriUpdated: false, walletBound: false };
  }
  const r = { address: registry, abi: AgentRegistryArtifact.abi } as const;
  const currentUri = (await clients.public.readContract({ ...r, functionName: "tokenURI", args: [existing] }).catch(() => "")) as string;
  const uriUpdated = currentUri !== uri;
  if (uriUpdated) await writeAndWait(clients, { ...r, functionName: "setAgentURI", args: [existing, uri] });
  const wallet = (await clients.public.readContract({ ...r, functionName: "getAgentWallet", args: [existing] })) as Address;
  const walletBound = getAddress(wallet) !== provider;
  if (walletBound) await bindAgentWallet(clients, deployment, { agentId: existing, wallet: provider, agentKey: key });
  return { agentId: existing, ...identity, created: false, uriUpdated, walletBound };
}
