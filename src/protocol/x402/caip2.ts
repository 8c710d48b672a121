/** CAIP-2 network ids of EVM chains, as x402 v2 names networks (`eip155:<chainId>`). */

/** The CAIP-2 id of an EVM chain: `eip155:8453` for chain 8453. */
export function eip155Network(chainId: number): string {
  return `eip155:${chainId}`;
}

/** The chain id of an `eip155:<chainId>` network, or undefined for any other network string. */
export function chainIdOfNetwork(network: string): number | undefined {
  const match = /^eip155:([1-9][0-9]{0,15})$/.exec(network);
  return match ? Number(match[1]) : undefined;
}
