import { zeroAddress, type Address } from "viem";
import type { Deployment } from "../chain/deployment.ts";

/**
 * The symbol and decimals amounts of a budget token are shown in: the native coin (the zero address)
 * as ETH, the deployment's token by its own; `undefined` for any other token, whose decimals are unknown.
 *
 * @example tokenUnitOf(deployment, zeroAddress) // { symbol: "ETH", decimals: 18 }
 */
export function tokenUnitOf(deployment: Deployment, token: Address): { symbol: string; decimals: number } | undefined {
  if (token === zeroAddress) return { symbol: "ETH", decimals: 18 };
  if (token.toLowerCase() === deployment.token.address.toLowerCase()) return { symbol: deployment.token.symbol, decimals: deployment.token.decimals };
  return undefined;
}
