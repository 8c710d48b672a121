import { encodeFunctionData, erc20Abi } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { ChannelDeposit, ChannelFunder } from "../gateway/createChannelManager.ts";
import type { AgentSpender } from "./createAgentSpender.ts";

/**
 * Funds payment channels from an agent wallet: the wallet is the channel's sender, and each deposit
 * is one wallet transaction (`approve` PaymentChannels, then `open` or `topUp`) that counts against
 * the wallet's budget like any other spend. Vouchers are then signed by the agent key, which the
 * wallet vouches for to PaymentChannels through ERC-1271.
 */
export function createAgentFunder(spender: AgentSpender, deployment: Deployment): ChannelFunder {
  return {
    sender: spender.wallet,
    async deposit(request: ChannelDeposit) {
      const channelCall =
        request.kind === "open"
          ? encodeFunctionData({ abi: PaymentChannelsArtifact.abi, functionName: "open", args: [request.provider, request.modelId, request.amount] })
          : encodeFunctionData({ abi: PaymentChannelsArtifact.abi, functionName: "topUp", args: [request.channelId, request.amount] });
      await spender.spend({
        what: request.kind === "open" ? "channel deposit" : "channel top-up",
        calls: [
          { target: deployment.token.address, data: encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [deployment.paymentChannels, request.amount] }) },
          { target: deployment.paymentChannels, data: channelCall },
        ],
        charges: [{ token: deployment.token.address, amount: request.amount }],
      });
    },
  };
}
