// SM2 (GM/T 0003) over sm-crypto-v2: key pairs, signatures with the Z value over a user ID (default
// "1234567812345678", GM/T 0009), DER-encoded; public-key encryption in C1C3C2 order.
// Encodings: public key = uncompressed hex "04‖x‖y" (130 hex chars), private key = 64 hex chars,
// signature = DER SEQUENCE { r INTEGER, s INTEGER } as hex, ciphertext = 04 ‖ C1.x ‖ C1.y ‖ C3(32) ‖ C2.
import { sm2 } from "sm-crypto-v2";
import { CryptoError } from "./errors.js";

export const SM2_DEFAULT_USER_ID = "1234567812345678";
const C1C3C2 = 1;
const HEX = /^[0-9a-fA-F]+$/;

const pubOfPriv = new Map<string, string>();

function checkPriv(privHex: string): string {
  if (typeof privHex !== "string" || privHex.length !== 64 || !HEX.test(privHex)) {
    throw new CryptoError("BAD_INPUT", "SM2 private key must be 64 hex characters");
  }
  return privHex.toLowerCase();
}

function validPoint(pubHex: string): boolean {
  try {
    return sm2.verifyPublicKey(pubHex);
  } catch {
    return false;
  }
}

function checkPub(pubHex: string): string {
  if (typeof pubHex !== "string" || !HEX.test(pubHex) || !validPoint(pubHex)) {
    throw new CryptoError("BAD_INPUT", "SM2 public key is not a valid point (expected hex 04‖x‖y or compressed)");
  }
  return pubHex.toLowerCase();
}

function publicKeyOf(privHex: string): string {
  let pub = pubOfPriv.get(privHex);
  if (pub === undefined) {
    pub = sm2.getPublicKeyFromPrivateKey(privHex);
    if (pubOfPriv.size > 64) pubOfPriv.clear();
    pubOfPriv.set(privHex, pub);
  }
  return pub;
}

export function sm2GenerateKeyPair(): { publicKey: string; privateKey: string } {
  const kp = sm2.generateKeyPairHex();
  return { publicKey: kp.publicKey, privateKey: kp.privateKey };
}

/** Signs SM3(Z(userId, pub) ‖ msg); returns the DER signature as hex. */
export function sm2Sign(privHex: string, msg: Buffer, userId = SM2_DEFAULT_USER_ID): string {
  const priv = checkPriv(privHex);
  return sm2.doSignature(Uint8Array.from(msg), priv, { der: true, hash: true, publicKey: publicKeyOf(priv), userId });
}

/** Verifies a DER hex signature; false for a wrong or malformed signature, BAD_INPUT for a bad public key. */
export function sm2Verify(pubHex: string, msg: Buffer, sigHex: string, userId = SM2_DEFAULT_USER_ID): boolean {
  const pub = checkPub(pubHex);
  if (typeof sigHex !== "string" || sigHex.length === 0 || sigHex.length % 2 !== 0 || !HEX.test(sigHex)) return false;
  try {
    return sm2.doVerifySignature(Uint8Array.from(msg), sigHex, pub, { der: true, hash: true, userId });
  } catch {
    return false;
  }
}

/** Encrypts to 04 ‖ C1 ‖ C3 ‖ C2 (GM/T 0003-2012 order). Empty data is refused (see sm2Decrypt). */
export function sm2Encrypt(pubHex: string, data: Buffer): Buffer {
  const pub = checkPub(pubHex);
  if (data.length === 0) throw new CryptoError("BAD_INPUT", "SM2 encryption of empty data is not supported");
  const hex = sm2.doEncrypt(Uint8Array.from(data), pub, C1C3C2);
  return Buffer.from(`04${hex}`, "hex");
}

/** Decrypts 04 ‖ C1 ‖ C3 ‖ C2; a wrong key or tampered ciphertext throws CryptoError BAD_TAG. */
export function sm2Decrypt(privHex: string, ct: Buffer): Buffer {
  const priv = checkPriv(privHex);
  if (ct.length < 1 + 64 + 32 + 1 || ct[0] !== 0x04) {
    throw new CryptoError("BAD_ENVELOPE", "SM2 ciphertext must be 04 ‖ C1(64) ‖ C3(32) ‖ C2 (at least 98 bytes)");
  }
  let out: Uint8Array | number[];
  try {
    out = sm2.doDecrypt(ct.subarray(1).toString("hex"), priv, C1C3C2, { output: "array" });
  } catch (e) {
    throw new CryptoError("BAD_ENVELOPE", "SM2 ciphertext C1 is not a valid curve point", { cause: e });
  }
  // sm-crypto-v2 signals a C3 (hash) mismatch with an empty result; C2 is never empty here
  if (out.length === 0)
    throw new CryptoError("BAD_TAG", "SM2 decryption failed (wrong private key or tampered ciphertext)");
  return Buffer.from(out);
}
