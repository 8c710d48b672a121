import { parseEther, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createClients } from "./createClients.ts";
import type { Deployment } from "./deployment.ts";
import { TestTokenArtifact } from "./contracts.generated.ts";
import { writeAndWait } from "./writeAndWait.ts";
import { DEVNET_DEPLOYER_KEY } from "./startDevnet.ts";
import { GotongError } from "../common/errors.ts";

/**
 * Gives an account test ether (for gas) and test tokens on the local devnet, topping it up to at
 * least the amounts asked. Refuses on any other chain: real networks have no faucet.
 */
export async function fundOnDevnet(deployment: Deployment, address: Address, amounts: { ether?: bigint; tokens?: bigint }): Promise<void> {
  if (deployment.chainId !== 31337) {
    throw new GotongError(`Cannot mint test funds on chain ${deployment.chainId}`, { code: "not_devnet", hint: "Fund the account on that network yourself." });
  }
  const clients = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(DEVNET_DEPLOYER_KEY) });
  const ether = amounts.ether ?? parseEther("100");
  const balance = await clients.public.getBalance({ address });
  if (balance < ether) {
    await (clients.public as PublicClient).request({ method: "anvil_setBalance" as never, params: [address, `0x${ether.toString(16)}`] as never });
  }
  if (amounts.tokens) {
    const held = (await clients.public.readContract({ address: deployment.token.address, abi: TestTokenArtifact.abi, functionName: "balanceOf", args: [address] })) as bigint;
    if (held < amounts.tokens) {
      await writeAndWait(clients, { address: deployment.token.address, abi: TestTokenArtifact.abi, functionName: "mint", args: [address, amounts.tokens - held] });
    }
  }
}
