import { statSync } from "node:fs";
import { hexToBytes, type Address, type Hex } from "viem";
import { GotongError } from "../common/errors.ts";
import {
  createRequestInfo,
  createStreamSealer,
  encodeBinaryFrame,
  encodeSseFrame,
  hpkeKeyPath,
  loadHpkeKeyRing,
  openRequest,
  type HpkeKeyRing,
  type ResponseKeys,
} from "../privacy/index.ts";
import { HEADERS } from "../protocol/wire.ts";

/**
 * The provider's end of end-to-end encryption: opens request envelopes sealed to its registered
 * key (or, during a rotation, its previous one) and seals responses back to the client. The request
 * id is bound in as associated data, so an envelope cannot be replayed under another request id.
 */
export function createSealedTransport(options: { keysDir: string; chainId: number; provider: Address }) {
  const info = createRequestInfo({ chainId: options.chainId, provider: options.provider });
  const keyFile = hpkeKeyPath(options.keysDir, "provider");
  let ring: HpkeKeyRing = loadHpkeKeyRing(options.keysDir, "provider");
  let loadedVersion = statSync(keyFile).mtimeMs;
  return {
    get publicKey(): Hex {
      return `0x${Buffer.from(ring.current.publicKey).toString("hex")}`;
    },
    /** Reloads keys from disk (after `gotong provider rotate-key`). */
    reload() {
      ring = loadHpkeKeyRing(options.keysDir, "provider");
      loadedVersion = statSync(keyFile).mtimeMs;
    },
    open(envelope: Uint8Array, requestId: Hex): { plaintext: Uint8Array; responseKeys: ResponseKeys } {
      const aad = hexToBytes(requestId);
      try {
        return openRequest(ring, envelope, info, { aad });
      } catch (error) {
        // A key rotated by another process since we loaded: read the key files again, but only when
        // they changed, so a flood of bad envelopes costs a stat each, not a key load.
        if (statSync(keyFile).mtimeMs === loadedVersion) throw error;
        this.reload();
        return openRequest(ring, envelope, info, { aad });
      }
    },
    /**
     * Seals SSE event batches into frames carried as SSE events. Each carries, in the clear, the
     * running count of output tokens sent (`id:`), so a relaying gateway that cannot read the
     * answer can still check the bill against what passed through it.
     */
    streamSealer(keys: ResponseKeys) {
      const sealer = createStreamSealer(keys);
      return (events: string, final: boolean, tokens: number) => `id: ${tokens}\n${encodeSseFrame(sealer.seal(Buffer.from(events), { final }))}`;
    },
    /** Seals a whole JSON body as one final binary frame. */
    sealBody(keys: ResponseKeys, body: string): Uint8Array {
      return encodeBinaryFrame(createStreamSealer(keys).seal(Buffer.from(body), { final: true }));
    },
  };
}

export type SealedTransport = ReturnType<typeof createSealedTransport>;

/** The error for a sealed request without the request id it is bound to. */
export function sealedRequestIdMissing(): GotongError {
  return new GotongError(`A sealed request needs an ${HEADERS.requestId} header (0x + 64 hex digits)`, { code: "request_id_missing", status: 400 });
}
