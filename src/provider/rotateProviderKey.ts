import type { Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { ProviderRegistryArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { rotateHpkeKey } from "../privacy/index.ts";

/**
 * Rotates the provider's HPKE key: a new key becomes current, the old one keeps opening requests for
 * a grace period (requests already sealed to it, and clients that have not yet read the chain), and
 * the new public key is registered on-chain. A running provider picks the new key up on its own.
 */
export async function rotateProviderKey(clients: ChainClients, deployment: Deployment, keysDir: string): Promise<{ publicKey: Hex; transactionHash: Hex }> {
  const { publicKey } = rotateHpkeKey(keysDir, "provider");
  const { hash } = await writeAndWait(clients, { address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "setHpkeKey", args: [publicKey] });
  return { publicKey, transactionHash: hash };
}
