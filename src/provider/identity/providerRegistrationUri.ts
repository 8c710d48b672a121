import type { Address } from "viem";
import { registrationDataUri } from "../../agent/registerAgentIdentity.ts";

/** What a provider's ERC-8004 registration file is made from. */
export type ProviderRegistration = {
  /** The provider's address: its agent wallet, where x402 payments (X402Splitter `settle`) pay it. */
  address: Address;
  chainId: number;
  /** The provider's public URL, as registered in ProviderRegistry (`http://host:port`, no `/v1`). */
  endpoint: string;
  /** Whether it accepts x402 payments (and so serves `/mcp`). */
  x402Support: boolean;
  /** Default: `Gotong provider <address>`. */
  name?: string;
};

/**
 * The ERC-8004 registration file of a provider, as a `data:` URI: its wallet, its OpenAI-compatible
 * API (`<endpoint>/v1`), its MCP endpoint (`<endpoint>/mcp`) when it accepts x402 (the MCP tools are
 * paid by x402 only), and `x402Support` saying whether it does.
 *
 * @example providerRegistrationUri({ address, chainId: 31337, endpoint: "http://127.0.0.1:8601", x402Support: true })
 */
export function providerRegistrationUri(registration: ProviderRegistration): string {
  const base = registration.endpoint.replace(/\/+$/, "");
  const paid = registration.x402Support ? "Gotong payment vouchers or x402" : "Gotong payment vouchers";
  return registrationDataUri({
    name: registration.name ?? `Gotong provider ${registration.address}`,
    description: `A Gotong inference provider: an OpenAI-compatible API (chat completions), paid per token with ${paid}.`,
    wallet: registration.address,
    chainId: registration.chainId,
    services: [{ name: "OpenAI", endpoint: `${base}/v1` }, ...(registration.x402Support ? [{ name: "MCP", endpoint: `${base}/mcp` }] : [])],
    x402Support: registration.x402Support,
  });
}
