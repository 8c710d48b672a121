import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { Hex } from "viem";

/** An X25519 key pair a provider registers on-chain so clients can seal requests to it (HPKE, RFC 9180). */
export type HpkeKeyPair = { privateKey: KeyObject; publicKey: Hex };

/** Loads `keys/<role>-hpke.pem`, creating an X25519 key on first use (mode 0600, atomic write). */
export function loadOrCreateHpkeKey(keysDir: string, role: string): HpkeKeyPair {
  const path = join(keysDir, `${role}-hpke.pem`);
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync("x25519");
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
    renameSync(tmp, path);
  }
  const privateKey = createPrivateKey(readFileSync(path));
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  return { privateKey, publicKey: `0x${Buffer.from(jwk.x!, "base64url").toString("hex")}` };
}
