import { createPublicClient, createWalletClient, defineChain, http, type Account, type Chain, type PublicClient, type WalletClient, type Transport } from "viem";

export type ChainClients = {
  chain: Chain;
  public: PublicClient<Transport, Chain>;
  wallet: WalletClient<Transport, Chain, Account>;
  account: Account;
};

/** Builds viem clients for a chain reached by RPC URL, acting as `account`. */
export function createClients(options: { rpcUrl: string; chainId: number; account: Account }): ChainClients {
  const { chain, transport, pollingInterval } = connectionTo(options);
  return {
    chain,
    account: options.account,
    public: createPublicClient({ chain, transport, pollingInterval }),
    wallet: createWalletClient({ chain, transport, account: options.account, pollingInterval }),
  };
}

/** A client that only reads from a chain reached by RPC URL: it needs no key. */
export function createReader(options: { rpcUrl: string; chainId: number }): PublicClient<Transport, Chain> {
  return createPublicClient(connectionTo(options));
}

function connectionTo({ rpcUrl, chainId }: { rpcUrl: string; chainId: number }) {
  const chain = defineChain({
    id: chainId,
    name: chainId === 31337 ? "Gotong devnet" : `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  // Local chains mine instantly: poll often so receipts come back fast.
  const pollingInterval = chainId === 31337 ? 50 : 2_000;
  return { chain, transport: http(rpcUrl, { retryCount: 2, timeout: 20_000 }), pollingInterval };
}
