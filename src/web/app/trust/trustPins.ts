/**
 * The ProviderRegistry address and chain id the key check reads, pinned by the person (Trust
 * settings) or, when they pinned none, as the gateway's `/gotong/web/config` names them. A gateway
 * that hands the page its own key could also name a fake registry holding that key: pinned values
 * come from the person, not the gateway, so such a registry is never asked. Kept in this browser's
 * localStorage, beside the chosen chain RPC (chainRpc.ts).
 */
const REGISTRY_KEY = "gotong.trustRegistry";
const CHAIN_ID_KEY = "gotong.trustChainId";

/** Where a value the key check uses came from. */
export type TrustSource = "pinned" | "gateway";

/** The registry and chain the key check reads, each with where it came from. */
export type TrustTarget = { registry: string; registryFrom: TrustSource; chainId: number; chainIdFrom: TrustSource };

/** What the person pinned, each undefined when not pinned. */
export type TrustPins = { registry?: string; chainId?: number };

function read(key: string): string | undefined {
  try {
    return localStorage.getItem(key) || undefined;
  } catch {
    return undefined;
  }
}

function write(key: string, value: string | undefined): void {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    // storage blocked: the pin lasts for this page only, held by the caller's state
  }
}

/** The registry address and chain id the person pinned in this browser. */
export function savedTrustPins(): TrustPins {
  const chainId = Number(read(CHAIN_ID_KEY));
  return { registry: read(REGISTRY_KEY), chainId: Number.isSafeInteger(chainId) && chainId > 0 ? chainId : undefined };
}

/** Saves the pins; an undefined one goes back to the gateway's value. */
export function saveTrustPins(pins: TrustPins): void {
  write(REGISTRY_KEY, pins.registry);
  write(CHAIN_ID_KEY, pins.chainId !== undefined ? String(pins.chainId) : undefined);
}

/**
 * The registry and chain the key check uses: each pinned value, else the gateway's.
 *
 * @example const { registry, chainId } = trustTarget({ registry: config.contracts.providerRegistry, chainId: config.chainId });
 */
export function trustTarget(gateway: { registry: string; chainId: number }, pins: TrustPins = savedTrustPins()): TrustTarget {
  return {
    registry: pins.registry ?? gateway.registry,
    registryFrom: pins.registry ? "pinned" : "gateway",
    chainId: pins.chainId ?? gateway.chainId,
    chainIdFrom: pins.chainId !== undefined ? "pinned" : "gateway",
  };
}

/** The pins' texts checked (empty means "use the gateway's"), or why one is not valid. */
export function parseTrustPins(text: { registry: string; chainId: string }): { ok: true; pins: TrustPins } | { ok: false; field: "registry" | "chainId"; error: string } {
  const registry = text.registry.trim();
  const chainId = text.chainId.trim();
  if (registry !== "" && !/^0x[0-9a-fA-F]{40}$/.test(registry)) {
    return { ok: false, field: "registry", error: "ProviderRegistry: enter a contract address, 0x and 40 hex digits, or leave it empty to use the gateway's." };
  }
  const id = Number(chainId);
  if (chainId !== "" && (!/^\d+$/.test(chainId) || !Number.isSafeInteger(id) || id < 1)) {
    return { ok: false, field: "chainId", error: "Chain id: enter a whole number such as 1 or 8453, or leave it empty to use the gateway's." };
  }
  return { ok: true, pins: { registry: registry || undefined, chainId: chainId === "" ? undefined : id } };
}
