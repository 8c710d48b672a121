import { erc20Abi, type Address } from "viem";
import { GotongError } from "../common/errors.ts";
import type { ChainClients } from "./createClients.ts";
import { writeAndWait } from "./writeAndWait.ts";

/** An existing ERC-20 as a deployment records it. */
export type PaymentToken = { address: Address; symbol: string; decimals: number };

/** Reads an existing ERC-20's symbol and decimals, refusing an address that is not one. */
export async function readPaymentToken(clients: ChainClients, address: Address): Promise<PaymentToken> {
  const code = await clients.public.getCode({ address });
  if (!code || code === "0x") throw tokenError(`There is no contract at ${address} on chain ${clients.chain.id}`, "Check --token and --rpc-url: the token must already be deployed on that chain.");
  let decimals: number;
  let symbol: string;
  try {
    [decimals, symbol] = await Promise.all([
      clients.public.readContract({ address, abi: erc20Abi, functionName: "decimals" }),
      clients.public.readContract({ address, abi: erc20Abi, functionName: "symbol" }),
    ]);
  } catch (cause) {
    throw tokenError(`The contract at ${address} does not answer decimals() and symbol() as an ERC-20 does`, "Give the address of an ERC-20 token (prices, stakes and vouchers are counted in its base units).", cause);
  }
  // Prices are per million tokens in base units, stakes are whole tokens scaled by decimals:
  // beyond 36 digits the sums leave what a uint256 price table holds comfortably.
  if (decimals > 36) throw tokenError(`The token at ${address} has ${decimals} decimals; Gotong supports up to 36`);
  return { address, symbol, decimals };
}

/**
 * Refuses a fee-on-transfer token by measurement: the deployer sends itself one base unit and its
 * balance must come back unchanged. Vouchers promise exact amounts and a redeem splits them to the
 * base unit (royalty + fee + provider share = voucher); a token that skims each transfer breaks
 * that. Returns false when it could not measure (the deployer holds none of the token).
 */
export async function refuseFeeOnTransfer(clients: ChainClients, token: PaymentToken): Promise<boolean> {
  const self = clients.account.address;
  const balanceOf = () => clients.public.readContract({ address: token.address, abi: erc20Abi, functionName: "balanceOf", args: [self] });
  const before = await balanceOf();
  if (before === 0n) return false;
  await writeAndWait(clients, { address: token.address, abi: erc20Abi, functionName: "transfer", args: [self, 1n] });
  const after = await balanceOf();
  if (after !== before) {
    throw tokenError(`${token.symbol} at ${token.address} takes a fee on transfer: a self-transfer of 1 base unit changed the balance from ${before} to ${after}`, "Use a token without transfer fees (USDC, DAI, …): payments are split to the base unit.");
  }
  return true;
}

function tokenError(message: string, hint?: string, cause?: unknown): GotongError {
  return new GotongError(message, { code: "token_unsupported", hint, cause });
}
