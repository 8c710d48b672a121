import { erc20Abi, type Address, type PublicClient } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { toChainError } from "../chain/writeAndWait.ts";

/** What an account holds: the chain's native coin (gas) and the deployment's payment token, in base units. */
export type AccountBalance = { address: Address; native: bigint; token: bigint };

/**
 * Reads an account's native coin balance (wei) and its balance of the deployment's token (base units).
 *
 * @example const { native, token } = await readBalance(client, deployment, "0x…");
 */
export async function readBalance(client: PublicClient, deployment: Deployment, address: Address): Promise<AccountBalance> {
  try {
    const [native, token] = await Promise.all([
      client.getBalance({ address }),
      client.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [address] }),
    ]);
    return { address, native, token };
  } catch (error) {
    throw toChainError(error, "reading balances");
  }
}
