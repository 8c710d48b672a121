import { toFunctionSelector, type Address, type BaseError, type Hex, type PublicClient } from "viem";
import type { ChainClients } from "../../chain/createClients.ts";
import type { Deployment } from "../../chain/deployment.ts";
import { decodeContractError } from "../../chain/decodeContractError.ts";
import { GotongError } from "../../common/errors.ts";

/** A JSON-RPC request as an EIP-1193 provider receives it. */
export type WalletRequest = { method: string; params?: unknown[] };

/** What the local wallet may send, by contract: Gotong's own calls, nothing else. */
const ALLOWED: { contract: "token" | "paymentChannels" | "quadraticFunding"; signature: string }[] = [
  { contract: "token", signature: "approve(address,uint256)" },
  { contract: "paymentChannels", signature: "startClose(bytes32)" },
  { contract: "paymentChannels", signature: "withdraw(bytes32)" },
  { contract: "paymentChannels", signature: "withdrawEarnings(address)" },
  { contract: "paymentChannels", signature: "withdrawModelEarnings(uint256,address)" },
  { contract: "quadraticFunding", signature: "donate(uint256,uint256,uint256)" },
  { contract: "quadraticFunding", signature: "fundPool(uint256,uint256)" },
  { contract: "quadraticFunding", signature: "createRound((address,uint64,uint64,uint64,uint64,uint16,uint16,uint128,address,address[]))" },
  { contract: "quadraticFunding", signature: "applyProject(uint256,uint256)" },
  { contract: "quadraticFunding", signature: "finalize(uint256)" },
  { contract: "quadraticFunding", signature: "claim(uint256,uint256,address)" },
];

/** A wallet error with an EIP-1193 / JSON-RPC code. */
export class WalletRpcError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/**
 * The "local key" wallet of the web app on a local network: an EIP-1193 request handler that signs
 * with the gateway's own key, which never leaves GOTONG_HOME. It only sends Gotong's own calls
 * (approve to Gotong's contracts, close and withdraw channels, withdraw earnings, donate, fund a
 * pool), simulates each first so a revert is reported by name before anything is sent, and queues
 * its transactions with the gateway's own so they never race on the account's nonce.
 *
 * @example const wallet = createLocalWallet({ clients, deployment, serially }); await wallet.request({ method: "eth_accounts" });
 */
export function createLocalWallet(options: {
  clients: ChainClients;
  deployment: Deployment;
  /** Runs chain writes one at a time with the gateway's own (`channelManager.serially`). */
  serially: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Told of each transaction mined, e.g. to make the gateway re-read a channel it just closed. */
  onSent?: (call: { to: Address; signature: string; data: Hex }) => void;
}) {
  const { clients, deployment } = options;
  const address = clients.account.address;
  const contracts: Record<string, Address | undefined> = {
    token: deployment.token.address,
    paymentChannels: deployment.paymentChannels,
    quadraticFunding: deployment.quadraticFunding,
  };
  const allowed = new Map<string, string>(); // `${to}:${selector}` → signature
  for (const { contract, signature } of ALLOWED) {
    const to = contracts[contract];
    if (to) allowed.set(`${to.toLowerCase()}:${toFunctionSelector(signature)}`, signature);
  }
  const spenders = new Set([deployment.paymentChannels, deployment.quadraticFunding].filter(Boolean).map((a) => a!.toLowerCase()));

  async function sendTransaction(tx: { from?: string; to?: string; data?: string; value?: string }): Promise<Hex> {
    if (tx.from && tx.from.toLowerCase() !== address.toLowerCase()) throw new WalletRpcError(`This wallet holds only ${address}`, 4100);
    if (tx.value && BigInt(tx.value) !== 0n) throw new WalletRpcError("The local wallet sends no ether", 4200);
    const to = (tx.to ?? "").toLowerCase();
    const data = (tx.data ?? "0x") as Hex;
    if (!/^0x[0-9a-f]{40}$/.test(to) || !/^0x[0-9a-fA-F]*$/.test(data)) throw new WalletRpcError("A transaction needs a `to` address and hex `data`", -32602);
    const signature = allowed.get(`${to}:${data.slice(0, 10).toLowerCase()}`);
    if (!signature) throw new WalletRpcError("The local wallet only sends Gotong's own calls (close or withdraw a channel, withdraw earnings, donate, run a funding round)", 4200);
    if (signature.startsWith("approve") && !spenders.has(`0x${data.slice(34, 74)}`.toLowerCase())) {
      throw new WalletRpcError("The local wallet approves only Gotong's own contracts", 4200);
    }
    // Earnings and royalties it withdraws go to this very account, never to an address a page chose.
    const recipientWord = signature === "withdrawEarnings(address)" ? 0 : signature === "withdrawModelEarnings(uint256,address)" ? 1 : signature === "claim(uint256,uint256,address)" ? 2 : undefined;
    if (recipientWord !== undefined && `0x${data.slice(10 + 64 * recipientWord + 24, 10 + 64 * (recipientWord + 1))}`.toLowerCase() !== address.toLowerCase()) {
      throw new WalletRpcError(`The local wallet withdraws only to its own account ${address}`, 4200);
    }
    return options.serially(async () => {
      try {
        await (clients.public as PublicClient).call({ account: clients.account, to: to as Address, data });
      } catch (error) {
        // Decoded by name with its values, from every Gotong contract's errors (a token's bubbled up included).
        const refusal = decodeContractError(error, { what: signature.split("(")[0] });
        throw new WalletRpcError(refusal ? refusal.message : `The call failed: ${(error as BaseError).shortMessage ?? (error as Error).message}`, 3);
      }
      const hash = await clients.wallet.sendTransaction({ to: to as Address, data, account: clients.account, chain: clients.chain });
      await clients.public.waitForTransactionReceipt({ hash });
      options.onSent?.({ to: to as Address, signature, data });
      return hash;
    });
  }

  return {
    address,
    /** Answers one EIP-1193 request. */
    async request({ method, params = [] }: WalletRequest): Promise<unknown> {
      switch (method) {
        case "eth_chainId":
          return `0x${deployment.chainId.toString(16)}`;
        case "eth_accounts":
        case "eth_requestAccounts":
          return [address];
        case "eth_sendTransaction":
          return sendTransaction((params[0] ?? {}) as { from?: string; to?: string; data?: string; value?: string });
        default:
          throw new WalletRpcError(`The local wallet does not support ${String(method).slice(0, 60)}`, 4200);
      }
    },
  };
}

export type LocalWallet = ReturnType<typeof createLocalWallet>;

/** The error a page gets when the local wallet is off (not a local network). */
export function localWalletUnavailable(): GotongError {
  return new GotongError("The local wallet is only offered on a local network", {
    code: "local_wallet_unavailable",
    status: 404,
    hint: "Use a browser wallet (an injected EIP-1193 provider such as a wallet extension).",
  });
}
