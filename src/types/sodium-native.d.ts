// The part of sodium-native (libsodium bindings) that src/privacy uses. Every output buffer is
// written in place; each call throws when libsodium reports failure.
declare module "sodium-native" {
  /** Fills `buffer` from the system CSPRNG. */
  export function randombytes_buf(buffer: Uint8Array): void;
  /** X25519(n, 9): the public key of secret scalar `n`. */
  export function crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
  /** X25519(n, p). Throws when the result is all zeros (`p` is a low-order point). */
  export function crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
  /** ChaCha20-Poly1305 (RFC 8439) seal: writes ciphertext || tag into `c`, returns its length. */
  export function crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  /** ChaCha20-Poly1305 open: checks the tag first, writes the plaintext into `m` only if it holds; throws otherwise. */
  export function crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  /** SHA-256 of `input` into `out` (32 bytes). */
  export function crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void;
  /** Overwrites `buffer` with zeros in a way the compiler cannot remove. */
  export function sodium_memzero(buffer: Uint8Array): void;
}
