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
  // viem decodes the struct by the ABI: uint16 as number, uint64 and uint256 as bigint.
  return client.readContract({ address: paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "getChannel", args: [channelId] });
}
