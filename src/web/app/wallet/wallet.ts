import { getJson, PageError, request } from "../lib/api.ts";
import { HEADERS } from "../../../protocol/wire.ts";

/** An EIP-1193 provider: what a browser wallet injects as `window.ethereum`. */
export type Eip1193Provider = { request(args: { method: string; params?: unknown[] }): Promise<unknown> };

/** A connected wallet: who signs, and how to send one of Gotong's calls and wait for it. */
export type Wallet = {
  kind: "injected" | "local";
  address: string;
  /** Sends a call, waits until it is mined, and returns its hash; throws a PageError saying what happened. */
  send(call: { to: string; data: string; what: string }): Promise<string>;
};

/** The wallet the browser injected, if any. */
export function injectedProvider(): Eip1193Provider | undefined {
  const candidate = (window as unknown as { ethereum?: Eip1193Provider }).ethereum;
  return candidate && typeof candidate.request === "function" ? candidate : undefined;
}

/**
 * The local network's wallet: an EIP-1193 provider answered by the gateway, which signs with its
 * own key (kept in GOTONG_HOME; only Gotong's own calls; see src/web/server/createLocalWallet.ts).
 */
export function localProvider(): Eip1193Provider {
  let id = 0;
  return {
    async request({ method, params }) {
      const res = await request("/gotong/web/wallet", {
        method: "POST",
        headers: { "content-type": "application/json", [HEADERS.web]: "1" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params ?? [] }),
      });
      const body = (await res.json().catch(() => ({}))) as { result?: unknown; error?: { code: number; message: string } };
      if (!res.ok && !body.error) throw Object.assign(new Error(`The local wallet answered ${res.status}`), { code: -32603 });
      if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code });
      return body.result;
    },
  };
}

/** A wallet's refusal or failure as a PageError a person can act on. */
export function walletError(error: unknown, what: string): PageError {
  if (error instanceof PageError) return error;
  const e = error as { code?: number; message?: string };
  if (e?.code === 4001) return new PageError(`You declined ${what} in your wallet.`, { code: "wallet_rejected", hint: "Nothing was sent and no funds moved.", cause: error });
  if (e?.code === 4100) return new PageError("The wallet has not authorised this page.", { code: "wallet_unauthorized", hint: "Connect the wallet again and allow this site.", cause: error });
  if (e?.code === 3) return new PageError(e.message ?? `The contract refused ${what}.`, { code: "contract_refused", hint: "Nothing was sent and no funds moved.", cause: error });
  return new PageError(`${what[0]!.toUpperCase()}${what.slice(1)} failed: ${e?.message ?? String(error)}`, { code: "wallet_error", hint: "Nothing was sent unless your wallet shows a transaction.", cause: error });
}

async function waitForTransaction(hash: string, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = await getJson<{ status: "success" | "reverted" | "pending" }>(`/gotong/web/tx/${hash}`);
    if (status.status === "success") return;
    if (status.status === "reverted") throw new PageError(`The chain reverted ${what}.`, { code: "transaction_reverted", hint: "Only the gas was spent; no tokens moved." });
    if (Date.now() > deadline) throw new PageError(`${what} is still not mined after two minutes.`, { code: "transaction_pending", hint: `Check transaction ${hash} later; do not send it again yet.` });
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Connects a wallet: the injected one when the browser has it (switching it to the network's chain),
 * otherwise the local network's. Throws a PageError when neither is there or the person refuses.
 *
 * @example const wallet = await connectWallet({ chainId: 31337, localWallet: true });
 */
export async function connectWallet(options: { chainId: number; localWallet: boolean; prefer?: "injected" | "local" }): Promise<Wallet> {
  const injected = injectedProvider();
  const useInjected = injected && options.prefer !== "local";
  if (!useInjected && !options.localWallet) {
    throw new PageError("No wallet is available.", { code: "no_wallet", hint: "Install a browser wallet, or use the local network's key by running `gotong up`." });
  }
  const provider = useInjected ? injected : localProvider();
  const kind = useInjected ? "injected" : "local";
  let accounts: string[];
  try {
    accounts = (await provider.request({ method: "eth_requestAccounts" })) as string[];
  } catch (error) {
    throw walletError(error, "connecting");
  }
  const address = accounts[0];
  if (!address) throw new PageError("The wallet shared no account.", { code: "no_account", hint: "Unlock the wallet and connect again." });
  if (kind === "injected") {
    const chain = Number(await provider.request({ method: "eth_chainId" }));
    if (chain !== options.chainId) {
      try {
        await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: `0x${options.chainId.toString(16)}` }] });
      } catch (error) {
        throw new PageError(`The wallet is on chain ${chain}; this network is chain ${options.chainId}.`, { code: "wrong_chain", hint: "Switch the wallet to this network and connect again.", cause: error });
      }
    }
  }
  return {
    kind,
    address,
    async send({ to, data, what }) {
      let hash: string;
      try {
        hash = (await provider.request({ method: "eth_sendTransaction", params: [{ from: address, to, data }] })) as string;
      } catch (error) {
        throw walletError(error, what);
      }
      await waitForTransaction(hash, what);
      return hash;
    },
  };
}
