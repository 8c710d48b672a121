import type { PublicClient } from "viem";

/**
 * The chain's current time: the latest block's timestamp, in unix seconds. Round windows are judged
 * by it, not by this machine's clock (a local devnet's clock can be moved forward).
 */
export async function chainTime(client: PublicClient): Promise<bigint> {
  const block = await client.getBlock({ blockTag: "latest" });
  return block.timestamp;
}
