import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Hex } from "viem";
import { createHpkeKeyRing, DEFAULT_HPKE_KEY_GRACE_MS, type HpkeKeyRing, type HpkeKeyRingOptions, type RetiredHpkeKey } from "./createHpkeKeyRing.ts";
import { createHpkeRecipientKey } from "./createHpkeRecipientKey.ts";

/** An X25519 key pair a provider registers on-chain so clients can seal requests to it (HPKE, RFC 9180). */
export type HpkeKeyPair = { privateKey: KeyObject; publicKey: Hex };

/** Path of the current key of `role`: `keys/<role>-hpke.pem`. */
export function hpkeKeyPath(keysDir: string, role: string): string {
  return join(keysDir, `${role}-hpke.pem`);
}

/** Path of the key `rotateHpkeKey` retired: `keys/<role>-hpke.previous.pem`; its mtime is when it was retired. */
export function previousHpkeKeyPath(keysDir: string, role: string): string {
  return join(keysDir, `${role}-hpke.previous.pem`);
}

/** Loads `keys/<role>-hpke.pem`, creating an X25519 key on first use (mode 0600, atomic write). */
export function loadOrCreateHpkeKey(keysDir: string, role: string): HpkeKeyPair {
  const path = hpkeKeyPath(keysDir, role);
  if (!existsSync(path)) writeKeyFile(path, newPrivateKeyPem(), { replace: false });
  return readKeyPair(path);
}

/**
 * Replaces the key of `role` with a new one. The current key moves to `<role>-hpke.previous.pem`
 * (replacing any older previous key), so requests sealed to it in flight still open during the
 * grace period of {@link loadHpkeKeyRing}. Both files are written atomically with mode 0600, the
 * previous one first, so a crash at any point leaves the current key usable.
 *
 * Register the returned public key on-chain, then reload the key ring.
 *
 * @returns the new key pair
 * @example const { publicKey } = rotateHpkeKey(home.keys, "provider");
 */
export function rotateHpkeKey(keysDir: string, role: string): HpkeKeyPair {
  const path = hpkeKeyPath(keysDir, role);
  if (existsSync(path)) writeKeyFile(previousHpkeKeyPath(keysDir, role), readFileSync(path, "utf8"), { replace: true });
  writeKeyFile(path, newPrivateKeyPem(), { replace: true });
  return readKeyPair(path);
}

/**
 * The key ring of `role`: its current key (created on first use) and the previous one while it is
 * within `graceMs` of its retirement. A previous key past its grace period is deleted, so a later
 * compromise of this folder cannot open traffic recorded long ago.
 *
 * @param options.graceMs how long a retired key still opens requests; default one hour
 * @example const ring = loadHpkeKeyRing(home.keys, "provider"); openRequest(ring, envelope, info);
 */
export function loadHpkeKeyRing(keysDir: string, role: string, options: HpkeKeyRingOptions = {}): HpkeKeyRing {
  const graceMs = options.graceMs ?? DEFAULT_HPKE_KEY_GRACE_MS;
  const now = options.now ?? Date.now;
  const current = createHpkeRecipientKey(loadOrCreateHpkeKey(keysDir, role).privateKey);
  const previousPath = previousHpkeKeyPath(keysDir, role);
  const previous: RetiredHpkeKey[] = [];
  if (existsSync(previousPath)) {
    const retiredAt = statSync(previousPath).mtimeMs;
    if (now() - retiredAt < graceMs) {
      previous.push({ key: createHpkeRecipientKey(createPrivateKey(readFileSync(previousPath))), retiredAt });
    } else {
      rmSync(previousPath, { force: true });
    }
  }
  return createHpkeKeyRing(current, previous, options);
}

function newPrivateKeyPem(): string {
  // Encoded by the generation itself, never exported from the fresh KeyObject afterwards: on Node 20
  // (seen on 20.20.2) exporting a key whose generation job is already garbage can deadlock the
  // thread (the export holds the key's mutex while allocating; a GC in that allocation destroys
  // the job, whose destructor takes the same mutex). Encoded inside the job, the job is alive.
  return generateKeyPairSync("x25519", {
    privateKeyEncoding: { format: "pem", type: "pkcs8" },
    publicKeyEncoding: { format: "pem", type: "spki" },
  }).privateKey;
}

function readKeyPair(path: string): HpkeKeyPair {
  const privateKey = createPrivateKey(readFileSync(path));
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  return { privateKey, publicKey: `0x${Buffer.from(jwk.x!, "base64url").toString("hex")}` };
}

/**
 * Writes a key file atomically with mode 0600: a new temporary file, fsync, rename over the target,
 * fsync of the folder. With `replace: false` an existing file wins (two processes creating the key
 * at once end up with the same key).
 */
function writeKeyFile(path: string, pem: string, { replace }: { replace: boolean }): void {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, pem);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (!replace && existsSync(path)) {
    rmSync(tmp, { force: true });
    return;
  }
  renameSync(tmp, path);
  try {
    const dirFd = openSync(dirname(path), "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  }
}
