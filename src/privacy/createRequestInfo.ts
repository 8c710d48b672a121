/** Parameters of {@link createRequestInfo}. */
export type RequestInfoParameters = {
  /** Chain the provider is registered on. */
  chainId: number | bigint;
  /** The provider's address (any letter case). */
  provider: string;
};

// TextEncoder rather than Buffer: the web app bundles this very file (src/web/crypto).
const encoder = new TextEncoder();

/**
 * The HPKE `info` of a Gotong request: "gotong/v1 request", the chain id and the provider's
 * address, so an envelope sealed for one provider on one chain opens nowhere else.
 *
 * Encoding: UTF-8 of `gotong/v1 request` NUL `<chainId, decimal>` NUL `<provider, lowercase>`.
 *
 * @example createRequestInfo({ chainId: 31337n, provider: "0xAbC…" })
 */
export function createRequestInfo({ chainId, provider }: RequestInfoParameters): Uint8Array {
  return encoder.encode(`gotong/v1 request\0${BigInt(chainId).toString(10)}\0${provider.toLowerCase()}`);
}
