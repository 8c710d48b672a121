import { BaseError, HttpRequestError, TimeoutError, createPublicClient, createWalletClient, defineChain, fallback, http, type Account, type Chain, type PublicClient, type WalletClient, type Transport } from "viem";

export type ChainClients = {
  chain: Chain;
  public: PublicClient<Transport, Chain>;
  wallet: WalletClient<Transport, Chain, Account>;
  account: Account;
};

/** How to reach a chain: its id and one or more JSON-RPC endpoints. */
export type ChainConnection = {
  rpcUrl: string;
  /**
   * Every endpoint, in order of preference (`rpcUrl` is used first when it is not in the list).
   * A call that times out, is rate-limited (429) or finds the endpoint gone moves to the next.
   */
  rpcUrls?: readonly string[];
  chainId: number;
  /** How long one JSON-RPC call may take before it counts as failed. Default 20 s. */
  timeoutMs?: number;
  /** How often a failed call is tried again, over every endpoint, with growing delays. Default 3. */
  retryCount?: number;
};

/** Builds viem clients for a chain reached by RPC, acting as `account`. */
export function createClients(options: ChainConnection & { account: Account }): ChainClients {
  const { chain, transport, pollingInterval } = connectionTo(options);
  return {
    chain,
    account: options.account,
    public: createPublicClient({ chain, transport, pollingInterval }),
    wallet: createWalletClient({ chain, transport, account: options.account, pollingInterval }),
  };
}

/** A client that only reads from a chain reached by RPC: it needs no key. */
export function createReader(options: ChainConnection): PublicClient<Transport, Chain> {
  return createPublicClient(connectionTo(options));
}

/** The endpoints of a connection, first choice first, each once. */
export function rpcUrlsOf({ rpcUrl, rpcUrls }: Pick<ChainConnection, "rpcUrl" | "rpcUrls">): string[] {
  return [...new Set([rpcUrl, ...(rpcUrls ?? [])])];
}

function connectionTo(options: ChainConnection) {
  const { chainId } = options;
  const urls = rpcUrlsOf(options);
  const chain = defineChain({
    id: chainId,
    name: chainId === 31337 ? "Gotong devnet" : `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: urls } },
  });
  // Local chains mine instantly: poll often so receipts come back fast.
  const pollingInterval = chainId === 31337 ? 50 : 2_000;
  const timeout = options.timeoutMs ?? 20_000;
  // viem retries a timed-out, rate-limited (honouring Retry-After) or 5xx call with delays that
  // double from 150 ms; with several endpoints, each attempt walks them in order before waiting.
  const retryCount = options.retryCount ?? 3;
  const transport = urls.length === 1 ? http(urls[0], { retryCount, timeout }) : fallback(withCoolDown(urls.map((url) => http(url, { timeout }))), { retryCount });
  return { chain, transport, pollingInterval };
}

/** How long an endpoint that failed to answer is passed over while another one answers. */
const COOL_DOWN_MS = 30_000;

/**
 * viem's fallback tries endpoints in order on every call, so a first endpoint that hangs would
 * cost every call its full timeout. Here an endpoint that did not answer (timed out, cut off,
 * refused, rate-limited, 5xx) is passed over for a while, as long as another one is not in the
 * same state; a call it passes over goes straight to the next endpoint.
 */
function withCoolDown(transports: Transport[]): Transport[] {
  const downUntil = transports.map(() => 0);
  const cooling = (i: number) => Date.now() < downUntil[i]!;
  return transports.map((transport, i) => (config) => {
    const inner = transport(config);
    return {
      ...inner,
      async request(args, options) {
        if (cooling(i) && downUntil.some((_, j) => j !== i && !cooling(j))) {
          throw new HttpRequestError({ url: inner.value?.url as string | undefined ?? `endpoint ${i + 1}`, details: "passed over for a while after it failed to answer" });
        }
        try {
          return await inner.request(args, options);
        } catch (error) {
          if (error instanceof BaseError && error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError)) downUntil[i] = Date.now() + COOL_DOWN_MS;
          throw error;
        }
      },
    } as ReturnType<Transport>;
  });
}
