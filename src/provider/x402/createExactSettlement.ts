import { parseAbi, type Address, type Hex } from "viem";
import type { ChainClients } from "../../chain/createClients.ts";
import { X402SplitterArtifact } from "../../chain/contracts.generated.ts";
import { eip155Network } from "../../protocol/x402/caip2.ts";
import { X402_ERROR_REASONS } from "../../protocol/x402/x402ErrorReasons.ts";
import type { ExactEvmAuthorization } from "../../protocol/x402/x402Types.ts";
import { readTokenDomain, type TokenDomain } from "./readTokenDomain.ts";
import { settleExactPayment, type SettledSplit, type SettlementFailure } from "./settleExactPayment.ts";
import type { PayerState } from "./verifyExactPayment.ts";

/**
 * What the provider's x402 front door and its facilitator share: the splitter's terms, the payees
 * of its models, chain reads for verification, and one settlement queue, so an authorization can
 * never be settled twice at once, whichever door it came through.
 */
export type ExactSettlement = {
  provider: Address;
  chainId: number;
  /** CAIP-2, `eip155:<chainId>`. */
  network: string;
  /** The payment token (EIP-3009). */
  token: Address;
  /** The token's EIP-712 domain, for `extra`. */
  domain: TokenDomain;
  /** The protocol fee the splitter applies, in basis points. */
  feeBps: number;
  /** The X402Splitter payee (x402 `payTo`) of this provider for `modelId`. */
  payeeOf(modelId: bigint): Promise<Address>;
  /** The model's royalty now, in basis points. */
  royaltyBpsOf(modelId: bigint): Promise<number>;
  /** The payer's balance, whether the nonce is used (on chain, or being settled here), and the time. */
  readState(payer: Address, nonce: Hex): Promise<PayerState>;
  /**
   * Settles a verified authorization through X402Splitter, one transaction at a time; refuses at
   * once (`invalid_exact_evm_nonce_already_used`) one that is being settled already.
   */
  settle(modelId: bigint, authorization: ExactEvmAuthorization, signature: Hex): Promise<({ ok: true } & SettledSplit) | SettlementFailure>;
  /**
   * Runs `task` (which sends transactions from the provider's key) after every one queued before it:
   * exact settlements, batch-settlement deposits and claims share this queue, so their sends never
   * race for the key's nonce.
   */
  send<T>(task: () => Promise<T>): Promise<T>;
};

const readAbi = parseAbi([
  "function balanceOf(address) view returns (uint256)",
  "function authorizationState(address, bytes32) view returns (bool)",
  "function royaltyBpsOf(uint256) view returns (uint16)",
]);

/**
 * Reads the splitter's token, registry and fee and the token's EIP-712 domain, and returns the
 * settlement core (see {@link ExactSettlement}).
 *
 * @example const settlement = await createExactSettlement(clients, deployment.x402Splitter);
 */
export async function createExactSettlement(clients: ChainClients, splitter: Address): Promise<ExactSettlement> {
  const provider = clients.account.address;
  const chainId = clients.chain.id;
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    clients.public.readContract({ address: splitter, abi: X402SplitterArtifact.abi, functionName, args } as never) as Promise<T>;
  const [token, models, feeBps] = await Promise.all([read<Address>("token"), read<Address>("models"), read<number>("protocolFeeBps")]);
  const domain = await readTokenDomain(clients.public, token);
  const payees = new Map<bigint, Promise<Address>>();
  // Authorizations being settled now, by payer and nonce.
  const settling = new Set<string>();
  // One transaction at a time from the provider's key (settlements here, and see `send`): concurrent sends would race for its nonce.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  };
  const keyOf = (payer: Address, nonce: Hex) => `${payer.toLowerCase()}:${nonce.toLowerCase()}`;

  return {
    provider,
    chainId,
    network: eip155Network(chainId),
    token,
    domain,
    feeBps,
    payeeOf(modelId) {
      let payee = payees.get(modelId);
      if (!payee) {
        payee = read<Address>("payeeOf", [provider, modelId]);
        payee.catch(() => payees.delete(modelId));
        payees.set(modelId, payee);
      }
      return payee;
    },
    royaltyBpsOf: (modelId) => clients.public.readContract({ address: models, abi: readAbi, functionName: "royaltyBpsOf", args: [modelId] }),
    async readState(payer, nonce) {
      const [balance, nonceUsed, block] = await Promise.all([
        clients.public.readContract({ address: token, abi: readAbi, functionName: "balanceOf", args: [payer] }),
        clients.public.readContract({ address: token, abi: readAbi, functionName: "authorizationState", args: [payer, nonce] }),
        clients.public.getBlock({ blockTag: "latest" }),
      ]);
      // The next block is at least as late as both clocks: a chain idle for a while lags the wall clock.
      const wall = BigInt(Math.floor(Date.now() / 1000));
      return { balance, nonceUsed: nonceUsed || settling.has(keyOf(payer, nonce)), now: block.timestamp > wall ? block.timestamp : wall };
    },
    async settle(modelId, authorization, signature) {
      const key = keyOf(authorization.from, authorization.nonce);
      // Checked with nothing awaited before the add: two requests carrying one authorization may both have passed verification.
      if (settling.has(key)) {
        return { ok: false, reason: X402_ERROR_REASONS.nonceAlreadyUsed, message: `the authorization's nonce ${authorization.nonce} is being settled for another request` };
      }
      settling.add(key);
      try {
        return await serially(() => settleExactPayment(clients, { splitter, provider, modelId, authorization, signature }));
      } finally {
        settling.delete(key);
      }
    },
    send: serially,
  };
}
