import { erc20Abi, isAddressEqual, parseEventLogs, type Address, type Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";

/** What a withdrawal of earnings paid. Amounts in token base units. */
export type EarningsWithdrawal = { hash: Hex; to: Address; amount: bigint; transferred: bigint };

/**
 * Withdraws the caller's earnings from PaymentChannels: redeeming a voucher credits the provider's
 * share there (it does not transfer it), and `withdrawEarnings` pays the whole credit out to `to`.
 * Refuses, saying why, when nothing is credited.
 *
 * @param clients Clients acting as the provider.
 * @param to Where the tokens go. Default: the provider's own account.
 * @param redeemable What the provider's store still holds unredeemed, to say so in a refusal.
 * @example const { amount } = await withdrawProviderEarnings(clients, deployment);
 */
export async function withdrawProviderEarnings(clients: ChainClients, deployment: Deployment, options: { to?: Address; redeemable?: bigint } = {}): Promise<EarningsWithdrawal> {
  const pc = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
  const me = clients.account.address;
  const to = options.to ?? me;
  const credited = await clients.public.readContract({ ...pc, functionName: "earnings", args: [me] });
  if (credited === 0n) {
    throw new GotongError(`${me} has no earnings to withdraw`, {
      code: "nothing_to_withdraw",
      hint: options.redeemable
        ? `${options.redeemable} base units of vouchers are not redeemed yet: \`gotong provider redeem\` first (withdraw does it unless --no-redeem).`
        : "Earnings are credited when vouchers are redeemed; serve paid requests, then `gotong provider redeem`.",
    });
  }
  const { hash, receipt } = await writeAndWait(clients, { ...pc, functionName: "withdrawEarnings", args: [to] });
  const [event] = parseEventLogs({ abi: PaymentChannelsArtifact.abi, logs: receipt.logs.filter((l) => isAddressEqual(l.address, deployment.paymentChannels)), eventName: "EarningsWithdrawn" });
  const transferred = parseEventLogs({ abi: erc20Abi, logs: receipt.logs.filter((l) => isAddressEqual(l.address, deployment.token.address)), eventName: "Transfer" })
    .filter((t) => isAddressEqual(t.args.from, deployment.paymentChannels) && isAddressEqual(t.args.to, to))
    .reduce((sum, t) => sum + t.args.value, 0n);
  return { hash, to, amount: event?.args.amount ?? 0n, transferred };
}
