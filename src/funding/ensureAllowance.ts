import { erc20Abi, type Address } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";

/** Approves `spender` for `amount` of `token` unless the allowance already covers it. */
export async function ensureAllowance(clients: ChainClients, token: Address, spender: Address, amount: bigint): Promise<void> {
  const allowance = await clients.public.readContract({ address: token, abi: erc20Abi, functionName: "allowance", args: [clients.account.address, spender] });
  if (allowance < amount) await writeAndWait(clients, { address: token, abi: erc20Abi, functionName: "approve", args: [spender, amount] });
}
