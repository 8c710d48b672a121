import { createPublicClient, createWalletClient, defineChain, http, type Account, type Chain, type PublicClient, type WalletClient, type Transport } from "viem";

export type ChainClients = {
  chain: Chain;
  public: PublicClient<Transport, Chain>;
  wallet: WalletClient<Transport, Chain, Account>;
  account: Account;
};

/** Builds viem clients for a chain reached by RPC URL, acting as `account`. */
export function createClients(options: { rpcUrl: string; chainId: number; account: Account }): ChainClients {
  const chain = defineChain({
    id: options.chainId,
    name: options.chainId === 31337 ? "Gotong devnet" : `chain ${options.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [options.rpcUrl] } },
  });
  // Local chains mine instantly: poll often so receipts come back fast.
  const pollingInterval = options.chainId === 31337 ? 50 : 2_000;
  const transport = http(options.rpcUrl, { retryCount: 2, timeout: 20_000 });
  return {
    chain,
    account: options.account,
    public: createPublicClient({ chain, transport, pollingInterval }),
    wallet: createWalletClient({ chain, transport, account: options.account, pollingInterval }),
  };
}
