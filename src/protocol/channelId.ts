import { encodeAbiParameters, keccak256, type Address, type Hex } from "viem";

/** The id PaymentChannels gives the channel from `sender` to `provider` for `modelId` (`channelIdOf`). */
export function channelIdOf(sender: Address, provider: Address, modelId: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: "address" }, { type: "address" }, { type: "uint256" }], [sender, provider, modelId]));
}
