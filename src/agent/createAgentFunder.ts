import { encodeFunctionData, erc20Abi, type Hex } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import type { ChannelDeposit, ChannelFunder } from "../gateway/createChannelManager.ts";
import { readWithdrawal } from "../gateway/withdrawChannel.ts";
import type { AgentSpender } from "./createAgentSpender.ts";

/**
 * Funds payment channels from an agent wallet: the wallet is the channel's sender, and each deposit
 * is one wallet transaction (`approve` PaymentChannels, then `open` or `topUp`) that counts against
 * the wallet's budget like any other spend. Vouchers are then signed by the agent key, which the
 * wallet vouches for to PaymentChannels through ERC-1271. Closing and withdrawing are wallet calls
 * too (allowed by the default policy; they spend nothing), and a withdrawal pays the rest of the
 * deposit back into the wallet.
 */
export function createAgentFunder(spender: AgentSpender, deployment: Deployment): ChannelFunder {
  const channelCall = (functionName: "startClose" | "withdraw", channelId: Hex) => ({
    target: deployment.paymentChannels,
    data: encodeFunctionData({ abi: PaymentChannelsArtifact.abi, functionName, args: [channelId] }),
  });
  return {
    sender: spender.wallet,
    async deposit(request: ChannelDeposit) {
      const channelCall =
        request.kind === "open"
          ? encodeFunctionData({ abi: PaymentChannelsArtifact.abi, functionName: "open", args: [request.provider, request.modelId, request.salt, request.amount] })
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
    async close(channelId) {
      const { hash } = await spender.spend({ what: "channel close", calls: [channelCall("startClose", channelId)], charges: [] });
      return { hash };
    },
    async withdraw(channelId) {
      const { hash, receipt } = await spender.spend({ what: "channel withdrawal", calls: [channelCall("withdraw", channelId)], charges: [] });
      return { hash, refund: readWithdrawal(deployment, receipt, channelId, spender.wallet).refund };
    },
  };
}
