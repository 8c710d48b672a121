import { utf8 } from "./bytes.ts";

/**
 * The HPKE `info` of a Gotong request, as `src/privacy/createRequestInfo.ts` builds it:
 * UTF-8 of `gotong/v1 request` NUL `<chainId, decimal>` NUL `<provider, lowercase>`.
 *
 * @example createRequestInfo({ chainId: 31337, provider: "0xAbC…" })
 */
export function createRequestInfo({ chainId, provider }: { chainId: number | bigint; provider: string }): Uint8Array {
  return utf8(`gotong/v1 request\0${BigInt(chainId).toString(10)}\0${provider.toLowerCase()}`);
}
