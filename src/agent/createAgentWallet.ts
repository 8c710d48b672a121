import { isAddress, keccak256, toBytes, zeroAddress, type Address, type Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { checkAgentPolicy, type AgentPolicy } from "./agentPolicy.ts";
import { agentWalletFactoryAbi } from "./walletAbi.ts";

/** Options of `createAgentWallet`. */
export type CreateAgentWalletOptions = {
  /** The owner; default the account creating the wallet. Must not be the zero address. */
  owner?: Address;
  /** The agent key's address. */
  agent: Address;
  policy: AgentPolicy;
  /** Any string or 32-byte hex; the same creator and salt give the same address. Default: a random salt. */
  salt?: string;
};

/** The deployment's agent wallet factory, or a clear error when it has none. */
export function agentWalletFactoryOf(deployment: Deployment): Address {
  if (!deployment.agentWalletFactory) {
    throw new GotongError("This deployment has no agent wallet factory", {
      code: "agents_not_deployed",
      hint: "It was deployed before agent wallets existed: start a fresh devnet (a new GOTONG_HOME), or deploy AgentWalletFactory and add agentWalletFactory to the deployment file.",
    });
  }
  return deployment.agentWalletFactory;
}

/**
 * Creates an agent wallet through the deployment's factory, owned by `owner` (default: the
 * creating account), with the agent key and policy given; returns its address once mined.
 *
 * @example const wallet = await createAgentWallet(ownerClients, deployment, { agent, policy: defaultAgentPolicy(deployment, { budget }) });
 */
export async function createAgentWallet(clients: ChainClients, deployment: Deployment, options: CreateAgentWalletOptions): Promise<Address> {
  const factory = agentWalletFactoryOf(deployment);
  const owner = options.owner ?? clients.account.address;
  if (!isAddress(owner) || owner === zeroAddress) {
    throw new GotongError("An agent wallet needs an owner: the zero address was given", { code: "invalid_policy", hint: "The owner can always act and revoke the agent; pass a real address." });
  }
  if (!isAddress(options.agent) || options.agent === zeroAddress) {
    throw new GotongError("An agent wallet needs an agent key: the zero address was given", { code: "invalid_policy" });
  }
  checkAgentPolicy(options.policy);
  const salt: Hex = options.salt
    ? /^0x[0-9a-fA-F]{64}$/.test(options.salt) ? (options.salt as Hex) : keccak256(toBytes(options.salt))
    : keccak256(toBytes(`${options.agent}:${Date.now()}:${Math.random()}`));
  const config = {
    owner,
    agent: options.agent,
    agentExpiresAt: BigInt(options.policy.agentExpiresAt ?? 0),
    budgets: options.policy.budgets.map((b) => ({ token: b.token, budget: b.budget, maxPerTransaction: b.maxPerTransaction, period: BigInt(b.period) })),
    calls: options.policy.calls,
    signatureVerifiers: options.policy.signatureVerifiers,
    refundCalls: options.policy.refundCalls ?? [],
  };
  const { result } = await writeAndWait(clients, { address: factory, abi: agentWalletFactoryAbi, functionName: "createWallet", args: [config, salt] });
  return result as Address;
}
