// SM2 public-key encryption of a backup's bundle key, through crypto/sm2.ts (GM/T 0003, ciphertext
// 04 ‖ C1 ‖ C3 ‖ C2). Errors become keystore CONFIG errors; a non-matching private key yields undefined.
import { CryptoError } from "../crypto/errors.js";
import { sm2Decrypt, sm2Encrypt } from "../crypto/sm2.js";
import { KeystoreError } from "./errors.js";

const PUB_RE = /^04[0-9a-fA-F]{128}$/;
const PRIV_RE = /^[0-9a-fA-F]{64}$/;

export function checkSm2PublicKey(hex: string): string {
  const h = hex.trim();
  if (!PUB_RE.test(h)) {
    throw new KeystoreError("CONFIG", "SM2 public key must be an uncompressed point: 130 hex digits starting with 04");
  }
  return h.toLowerCase();
}

export function sm2EncryptKey(publicKeyHex: string, key: Buffer): Buffer {
  try {
    return sm2Encrypt(checkSm2PublicKey(publicKeyHex), key);
  } catch (err) {
    if (err instanceof CryptoError) throw new KeystoreError("CONFIG", `SM2 public key: ${err.message}`);
    throw err;
  }
}

/** Returns undefined when the private key does not match (SM2's C3 hash check fails). */
export function sm2DecryptKey(privateKeyHex: string, ct: Buffer): Buffer | undefined {
  const priv = privateKeyHex.trim();
  if (!PRIV_RE.test(priv)) throw new KeystoreError("CONFIG", "SM2 private key must be 64 hex digits");
  try {
    return sm2Decrypt(priv, ct);
  } catch {
    return undefined;
  }
}
