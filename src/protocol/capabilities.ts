/**
 * What a provider's offer of a model can do, as the chain records it: a bitmask in
 * `ProviderRegistry` offers (`uint256 capabilities`). The gateway routes a request only to offers
 * that declare every capability the request needs.
 */
export type Capability = "chat" | "embeddings" | "tools" | "structured_outputs";

/**
 * The bit of each capability. Bits are permanent: a new capability takes the next free bit, and a
 * gateway that does not know it ignores it, so newer providers do not break older gateways.
 */
export const CAPABILITY_BITS: Readonly<Record<Capability, bigint>> = {
  chat: 1n << 0n,
  embeddings: 1n << 1n,
  tools: 1n << 2n,
  structured_outputs: 1n << 3n,
};

/** Every capability this version knows, in bit order. */
export const CAPABILITIES: readonly Capability[] = Object.keys(CAPABILITY_BITS) as Capability[];

/** True when `value` names a capability this version knows. */
export function isCapability(value: unknown): value is Capability {
  return typeof value === "string" && Object.hasOwn(CAPABILITY_BITS, value);
}

/**
 * Encodes capabilities as the on-chain bitmask.
 * @example encodeCapabilities(["chat", "tools"]) // 5n
 */
export function encodeCapabilities(list: readonly Capability[]): bigint {
  let bits = 0n;
  for (const capability of list) {
    const bit = CAPABILITY_BITS[capability];
    if (bit === undefined) throw new TypeError(`Unknown capability "${String(capability)}"`);
    bits |= bit;
  }
  return bits;
}

/**
 * Decodes the on-chain bitmask, in bit order, ignoring bits this version does not know.
 * @example decodeCapabilities(5n) // ["chat", "tools"]
 */
export function decodeCapabilities(bits: bigint): Capability[] {
  return CAPABILITIES.filter((capability) => (bits & CAPABILITY_BITS[capability]) !== 0n);
}
