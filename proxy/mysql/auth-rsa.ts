// RSA password exchange of caching_sha2_password / sha256_password full authentication, for the two cases where
// the legs differ: the client sent its password in clear over TLS but the backend leg is plain (smgate encrypts it
// with the server's RSA public key), or the client is on a plain leg and the backend leg is TLS (smgate offers its
// own ephemeral RSA key to the client, decrypts, and sends the cleartext over TLS). The password only ever lives in
// the memory of the one connection; it is never logged.
import { constants, generateKeyPairSync, type KeyObject, privateDecrypt, publicEncrypt } from "node:crypto";

/** (password || NUL) XOR nonce, repeated over the nonce: the pre-image both plugins encrypt with RSA-OAEP. */
export function xorWithNonce(data: Buffer, nonce: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] ^ nonce[i % nonce.length];
  return out;
}

/** Encrypt a cleartext password (without trailing NUL) for the server, as a MySQL 8 client does. */
export function rsaEncryptPassword(serverPublicKeyPem: string, password: Buffer, nonce: Buffer): Buffer {
  const plain = xorWithNonce(Buffer.concat([password, Buffer.from([0])]), nonce);
  return publicEncrypt({ key: serverPublicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING }, plain);
}

/** Decrypt what a client encrypted with smgate's public key; returns the password without the trailing NUL. */
export function rsaDecryptPassword(privateKey: KeyObject, encrypted: Buffer, nonce: Buffer): Buffer {
  const plain = xorWithNonce(
    privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, encrypted),
    nonce,
  );
  const nul = plain.indexOf(0);
  return nul >= 0 ? plain.subarray(0, nul) : plain;
}

export interface GatewayRsaKey {
  publicKeyPem: string;
  privateKey: KeyObject;
}

let cached: GatewayRsaKey | undefined;

/** smgate's own RSA-2048 key pair, generated lazily once per process (never persisted). */
export function gatewayRsaKey(): GatewayRsaKey {
  if (!cached) {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    cached = { publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), privateKey };
  }
  return cached;
}
