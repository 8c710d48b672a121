import type { PublicClient } from "viem";

/** Moves the devnet's clock forward by `seconds` and mines a block at the new time. */
export async function advanceTime(client: PublicClient, seconds: number | bigint): Promise<void> {
  await client.request({ method: "evm_increaseTime" as never, params: [`0x${seconds.toString(16)}`] as never });
  await client.request({ method: "evm_mine" as never, params: [] as never });
}
