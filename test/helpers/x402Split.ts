import { erc20Abi, getAddress, parseEventLogs, type Address, type Hex, type PublicClient } from "viem";

/** What a payment of `amount` splits into, as X402Splitter and a redeem split it (rounded down, the provider gets the rest). */
export function splitOf(amount: bigint, royaltyBps: bigint, feeBps: bigint) {
  const royalty = (amount * royaltyBps) / 10_000n;
  const fee = (amount * feeBps) / 10_000n;
  return { royalty, fee, providerShare: amount - royalty - fee };
}

/** The ERC-20 `Transfer` events of `token` in one transaction, in order, as `{ from, to, value }`. */
export async function tokenTransfersOf(client: PublicClient, token: Address, transaction: Hex) {
  const receipt = await client.getTransactionReceipt({ hash: transaction });
  return parseEventLogs({ abi: erc20Abi, eventName: "Transfer", logs: receipt.logs.filter((l) => getAddress(l.address) === getAddress(token)) }).map((t) => t.args);
}

/**
 * The four transfers of one x402 `exact` settlement, in the order X402Splitter makes them: the
 * payer's authorization to the payee, then royalty to the model's owner, the protocol fee kept by
 * the splitter (for the funding pool) and the rest to the provider. Compare with `tokenTransfersOf`.
 */
export function exactSplitTransfers(parties: { payer: Address; payee: Address; creator: Address; splitter: Address; provider: Address }, amount: bigint, royaltyBps: bigint, feeBps: bigint) {
  const { royalty, fee, providerShare } = splitOf(amount, royaltyBps, feeBps);
  const payee = getAddress(parties.payee);
  return [
    { from: getAddress(parties.payer), to: payee, value: amount },
    { from: payee, to: getAddress(parties.creator), value: royalty },
    { from: payee, to: getAddress(parties.splitter), value: fee },
    { from: payee, to: getAddress(parties.provider), value: providerShare },
  ];
}
