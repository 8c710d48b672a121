import { encodeAbiParameters, keccak256, type Address, type Hex } from "viem";

/**
 * The id PaymentChannels gives the channel from `sender` to `provider` for `modelId` under `salt`
 * (`channelIdOf`). A sender picks the salt when it opens the channel; gateways use 0, 1, 2… so a
 * pair can have a fresh channel while an older one is in its challenge period.
 */
export function channelIdOf(sender: Address, provider: Address, modelId: bigint, salt: bigint): Hex {
  return keccak256(
    encodeAbiParameters([{ type: "address" }, { type: "address" }, { type: "uint256" }, { type: "uint256" }], [sender, provider, modelId, salt]),
  );
}
