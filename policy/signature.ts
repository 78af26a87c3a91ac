// Detached SM2 signatures of policy files (`smgate policy sign|verify`), over crypto/sm2.ts: SM2 with SM3 and the default user id
// "1234567812345678" (GB/T 32918 / GM/T 0009) over the exact file bytes; FILE.sig holds the DER signature as
// one line of hex, so `openssl dgst -sm3 -verify pub.pem -sigopt distid:1234567812345678` can check it too.
import { sm2 } from "sm-crypto-v2";
import { SM2_DEFAULT_USER_ID, sm2GenerateKeyPair, sm2Sign, sm2Verify } from "../crypto/sm2.js";

export { SM2_DEFAULT_USER_ID, sm2GenerateKeyPair };

export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignatureError";
  }
}

export function signaturePathFor(policyPath: string): string {
  return `${policyPath}.sig`;
}

function pemBody(text: string, labels: string[]): Buffer | undefined {
  for (const label of labels) {
    const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(text);
    if (m) return Buffer.from(m[1].replace(/\s+/g, ""), "base64");
  }
  return undefined;
}

function findSeq(buf: Buffer, seq: number[]): number {
  outer: for (let i = 0; i + seq.length <= buf.length; i++) {
    for (let j = 0; j < seq.length; j++) if (buf[i + j] !== seq[j]) continue outer;
    return i;
  }
  return -1;
}

/** SM2 private key as 64 hex chars, from hex text or a PEM (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY"). */
export function readSm2PrivateKey(text: string): string {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return t.toLowerCase();
  const der = pemBody(t, ["PRIVATE KEY", "EC PRIVATE KEY"]);
  if (!der) throw new SignatureError("private key: expected 64 hex characters or a PEM SM2 private key");
  // ECPrivateKey ::= SEQUENCE { version INTEGER 1, privateKey OCTET STRING (32 bytes), ... }
  const at = findSeq(der, [0x02, 0x01, 0x01, 0x04, 0x20]);
  if (at < 0 || at + 5 + 32 > der.length)
    throw new SignatureError("private key: PEM does not hold a 256-bit EC private key");
  return der.subarray(at + 5, at + 37).toString("hex");
}

/** SM2 public key as 130 hex chars ("04" ‖ x ‖ y), from hex text or a PEM "PUBLIC KEY" (SubjectPublicKeyInfo). */
export function readSm2PublicKey(text: string): string {
  const t = text.trim();
  if (/^04[0-9a-fA-F]{128}$/.test(t)) return t.toLowerCase();
  const der = pemBody(t, ["PUBLIC KEY"]);
  if (!der) throw new SignatureError('public key: expected 130 hex characters starting "04" or a PEM SM2 public key');
  // BIT STRING of 66 bytes: 00 unused bits, then the uncompressed point 04 ‖ x ‖ y
  const at = findSeq(der, [0x03, 0x42, 0x00, 0x04]);
  if (at < 0 || at + 3 + 65 > der.length)
    throw new SignatureError("public key: PEM does not hold an uncompressed EC point");
  return der.subarray(at + 3, at + 68).toString("hex");
}

export function publicKeyFromPrivate(privHex: string): string {
  return sm2.getPublicKeyFromPrivateKey(privHex);
}

/** Signs the exact bytes of a policy file; returns the signature file content (DER hex + newline). */
export function signPolicyBytes(bytes: Uint8Array, privHex: string): string {
  return `${sm2Sign(privHex, Buffer.from(bytes), SM2_DEFAULT_USER_ID)}\n`;
}

/** True when `sigText` (signature file content) is a valid SM2 signature of `bytes` under `pubHex`. */
export function verifyPolicyBytes(bytes: Uint8Array, sigText: string, pubHex: string): boolean {
  const sig = sigText.trim();
  if (!/^[0-9a-fA-F]{16,400}$/.test(sig)) return false;
  try {
    return sm2Verify(pubHex, Buffer.from(bytes), sig.toLowerCase(), SM2_DEFAULT_USER_ID);
  } catch {
    return false; // malformed public key: nothing verifies under it
  }
}
