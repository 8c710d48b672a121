import { decodeEventLog, getAddress, type Address, type Hex, type LocalAccount } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { AgentRegistryArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";

/** What an ERC-8004 registration file says of an agent (see {@link registrationDataUri}). */
export type AgentRegistration = {
  name: string;
  description: string;
  /** The agent's wallet: listed first among the services, as `eip155:<chainId>:<wallet>`. */
  wallet: Address;
  chainId: number;
  /** Its other services (an OpenAI-compatible API, an MCP endpoint). Default: none. */
  services?: { name: string; endpoint: string }[];
  /**
   * Whether it accepts x402 payments. Default false: an agent made by `gotong agent create` serves
   * no x402 endpoint; a provider with x402 on declares true (registerProviderIdentity).
   */
  x402Support?: boolean;
};

/**
 * The ERC-8004 registration file of an agent, as a `data:` URI (what `gotong agent create` and
 * `gotong provider identity` register).
 *
 * @example registrationDataUri({ name: "my agent", description: "…", wallet, chainId: 31337 })
 */
export function registrationDataUri(registration: AgentRegistration): string {
  const json = {
    type: "https://eips.ethereum.org/EIPS/eip-8004#registration-v1",
    name: registration.name,
    description: registration.description,
    services: [{ name: "wallet", endpoint: `eip155:${registration.chainId}:${registration.wallet}` }, ...(registration.services ?? [])],
    x402Support: registration.x402Support ?? false,
    active: true,
  };
  return `data:application/json;base64,${Buffer.from(JSON.stringify(json)).toString("base64")}`;
}

/**
 * Registers an agent identity (an ERC-8004 agent id, an ERC-721 minted to the owner) with its
 * registration URI, and binds its agent wallet to it: the agent key signs ERC-8004's
 * `AgentWalletSet` message, which the registry checks through the wallet's ERC-1271 (or, for an
 * EOA wallet, by ECDSA). The registry binds the registrant itself at first, so a wallet that is the
 * owner's own address is already bound and no second transaction is sent. Returns the id.
 */
export async function registerAgentIdentity(
  owner: ChainClients,
  deployment: Deployment,
  options: { uri: string; wallet: Address; agentKey: LocalAccount },
): Promise<bigint> {
  const registry = deployment.agentRegistry;
  if (!registry) throw new GotongError("This deployment has no agent registry", { code: "agents_not_deployed" });
  const r = { address: registry, abi: AgentRegistryArtifact.abi } as const;
  const { receipt } = await writeAndWait(owner, { ...r, functionName: "register", args: [options.uri] });
  const registered = receipt.logs
    .filter((l) => l.address.toLowerCase() === registry.toLowerCase())
    .map((l) => {
      try {
        return decodeEventLog({ abi: AgentRegistryArtifact.abi, data: l.data, topics: l.topics });
      } catch {
        return undefined;
      }
    })
    .find((e) => e?.eventName === "Registered");
  if (!registered) throw new GotongError("The agent registry did not report the new agent id", { code: "chain_error", status: 502 });
  const agentId = (registered.args as { agentId: bigint }).agentId;
  if (getAddress(options.wallet) !== getAddress(owner.account.address)) {
    await bindAgentWallet(owner, deployment, { agentId, wallet: options.wallet, agentKey: options.agentKey });
  }
  return agentId;
}

/** Binds `wallet` to `agentId`, with the agent key's signature for the wallet (ERC-1271, or ECDSA when the wallet is the key's own address). */
export async function bindAgentWallet(owner: ChainClients, deployment: Deployment, options: { agentId: bigint; wallet: Address; agentKey: LocalAccount }): Promise<Hex> {
  const registry = deployment.agentRegistry!;
  const r = { address: registry, abi: AgentRegistryArtifact.abi } as const;
  const block = await owner.public.getBlock();
  const deadline = block.timestamp + 240n;
  const digest = (await owner.public.readContract({ ...r, functionName: "walletSetDigest", args: [options.agentId, options.wallet, owner.account.address, deadline] })) as Hex;
  const signature = await options.agentKey.sign!({ hash: digest });
  return (await writeAndWait(owner, { ...r, functionName: "setAgentWallet", args: [options.agentId, options.wallet, deadline, signature] })).hash;
}
