import { createContext } from "preact";
import type { Wallet } from "../wallet/wallet.ts";

/** What the gateway says about its network (`/gotong/web/config`). */
export type NetworkConfig = {
  chainId: number;
  token: { address: string; symbol: string; decimals: number };
  contracts: { modelRegistry: string; providerRegistry: string; paymentChannels: string; quadraticFunding: string | null };
  challengePeriod: number;
  gatewayAccount: string;
  localWallet: { address: string } | null;
  /** The chain RPC the page checks providers' keys through when the person has named none (a local devnet's), or null. */
  defaultChainRpc: string | null;
};

/** Shared by every page: the network, the connected wallet, and a way to connect one. */
export type AppContextValue = {
  config: NetworkConfig;
  wallet: Wallet | undefined;
  /** Connects (or returns) the wallet; throws a PageError the caller shows. */
  connect(): Promise<Wallet>;
};

export const AppContext = createContext<AppContextValue>(undefined as unknown as AppContextValue);
