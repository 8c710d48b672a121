import type { Address, Hex, PublicClient } from "viem";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";

/** A channel as the PaymentChannels contract holds it. */
export type OnchainChannel = {
  sender: Address;
  provider: Address;
  modelId: bigint;
  deposit: bigint;
  redeemed: bigint;
  royaltyBps: number;
  feeBps: number;
  epoch: bigint;
  closesAt: bigint;
};

/** Reads one channel from the PaymentChannels contract (a never-opened channel has a zero sender). */
export async function readChannel(client: PublicClient, paymentChannels: Address, channelId: Hex): Promise<OnchainChannel> {
  const c = (await client.readContract({
    address: paymentChannels,
    abi: PaymentChannelsArtifact.abi,
    functionName: "getChannel",
    args: [channelId],
  })) as OnchainChannel;
  return {
    sender: c.sender,
    provider: c.provider,
    modelId: c.modelId,
    deposit: c.deposit,
    redeemed: c.redeemed,
    royaltyBps: Number(c.royaltyBps),
    feeBps: Number(c.feeBps),
    epoch: BigInt(c.epoch),
    closesAt: BigInt(c.closesAt),
  };
}
