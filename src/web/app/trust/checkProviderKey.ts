import { createClient, http, type Address, type Hex } from "viem";
import { getChainId, readContract } from "viem/actions";
import { PageError } from "../lib/api.ts";
import { getProviderAbi } from "./providerRegistryAbi.ts";
import type { TrustSource } from "./trustPins.ts";

/** What was checked: the key the gateway handed over, the key the chain holds, and where each was read. */
export type KeyCheck = {
  provider: Address;
  /** The key the gateway handed the page to seal to (from `/gotong/relay/prepare`). */
  gatewayKey: Hex;
  /** The key ProviderRegistry holds for the provider, read through `rpc`. */
  chainKey: Hex;
  rpc: string;
  registry: Address;
  chainId: number;
  checkedAt: number;
};

/** A key that could not be trusted: what was compared, for the page to show side by side. */
export class ProviderKeyError extends PageError {
  constructor(
    message: string,
    options: ConstructorParameters<typeof PageError>[1],
    readonly check: Partial<KeyCheck>,
  ) {
    super(message, options);
  }
}

/** Options of {@link checkProviderKey}. */
export type CheckProviderKeyOptions = {
  /** The chain RPC the person chose (never the gateway's relay). */
  rpc: string | undefined;
  chainId: number;
  registry: string;
  /** Whether `chainId` was pinned by the person or named by the gateway (trustPins.ts), for the refusal's wording. Default: "gateway". */
  chainIdFrom?: TrustSource;
  provider: string;
  gatewayKey: string;
  signal?: AbortSignal;
};

/**
 * Reads `ProviderRegistry.getProvider(provider).hpkePublicKey` through the person's own chain RPC,
 * from this browser, and compares it with the key the gateway handed over. A gateway that handed
 * its own key (to open the prompt itself) is caught here, before anything is sealed or sent.
 *
 * @returns the check, when the keys match
 * @throws PageError `provider_key_mismatch` when they differ, or `provider_key_unchecked` when the
 *   chain could not be asked (no RPC, unreachable, another chain): either way nothing is sent
 * @example await checkProviderKey({ rpc, chainId, registry, provider, gatewayKey })
 */
export async function checkProviderKey(options: CheckProviderKeyOptions): Promise<KeyCheck> {
  const { rpc, chainId, provider, gatewayKey } = options;
  const seen: Partial<KeyCheck> = { provider: provider as Address, gatewayKey: gatewayKey as Hex, rpc, registry: options.registry as Address, chainId, checkedAt: Date.now() };
  const unchecked = (why: string, cause?: unknown) =>
    new ProviderKeyError(`The provider's key could not be checked against the chain: ${why}`, {
      code: "provider_key_unchecked",
      hint: "Nothing was sent. Set a chain RPC this browser can reach under Trust, then send again.",
      cause,
    }, seen);
  if (!rpc) throw unchecked("no chain RPC is set.");
  const client = createClient({ transport: http(rpc, { retryCount: 1, timeout: 10_000, fetchOptions: { signal: options.signal } }) });
  let rpcChainId: number;
  let record: { registered: boolean; hpkePublicKey: Hex };
  try {
    rpcChainId = await getChainId(client);
    if (rpcChainId !== chainId) throw unchecked(`${rpc} serves chain ${rpcChainId}, and ${options.chainIdFrom === "pinned" ? "the chain you pinned" : "this gateway's network"} is chain ${chainId}.`);
    record = await readContract(client, { address: options.registry as Address, abi: getProviderAbi, functionName: "getProvider", args: [provider as Address] });
  } catch (error) {
    if (error instanceof ProviderKeyError) throw error;
    if (options.signal?.aborted) throw error;
    throw unchecked(`${rpc} did not answer (${(error as Error).message.split("\n")[0]}).`, error);
  }
  if (!record.registered || record.hpkePublicKey.toLowerCase() !== gatewayKey.toLowerCase()) {
    throw new ProviderKeyError(
      record.registered
        ? `The gateway handed this page a key for provider ${provider} that is not the one the chain holds: the gateway could have read your message. Nothing was sent.`
        : `The gateway named provider ${provider}, which is not registered on chain ${chainId}: its key cannot be trusted. Nothing was sent.`,
      { code: "provider_key_mismatch", hint: "Use a gateway you trust, or ask again: another provider may be chosen. Under Trust, the two keys are shown side by side." },
      { ...seen, chainKey: record.hpkePublicKey },
    );
  }
  return { provider: provider as Address, gatewayKey: gatewayKey as Hex, chainKey: record.hpkePublicKey, rpc, registry: options.registry as Address, chainId, checkedAt: Date.now() };
}
