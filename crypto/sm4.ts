// SM4 block cipher on node:crypto (OpenSSL sm4-ecb / sm4-ctr). ECB ciphers are cached per key object and
// reused: with padding disabled an ECB cipher is stateless between update() calls, which removes the
// createCipheriv cost from every batch.
import { type Cipher, createCipheriv, createDecipheriv, type Decipher } from "node:crypto";
import { CryptoError } from "./errors.js";

interface CachedEcb {
  keyCopy: Buffer;
  enc?: Cipher;
  dec?: Decipher;
}

const ecbCache = new WeakMap<Uint8Array, CachedEcb>();

function checkKey(key: Uint8Array): void {
  if (key.length !== 16) throw new CryptoError("BAD_INPUT", `SM4 key must be 16 bytes, got ${key.length}`);
}

function checkBlocks(blocks: Uint8Array): void {
  if (blocks.length % 16 !== 0) {
    throw new CryptoError("BAD_INPUT", `SM4-ECB input must be a multiple of 16 bytes, got ${blocks.length}`);
  }
}

function cacheEntry(key: Uint8Array): CachedEcb {
  let e = ecbCache.get(key);
  // The copy guards against a key buffer that was modified in place (e.g. zeroed) after caching.
  if (e === undefined || !e.keyCopy.equals(key)) {
    e = { keyCopy: Buffer.from(key) };
    ecbCache.set(key, e);
  }
  return e;
}

/** SM4-ECB encryption of whole blocks (no padding). */
export function sm4EcbEncrypt(key: Buffer, blocks: Buffer): Buffer {
  checkKey(key);
  checkBlocks(blocks);
  if (blocks.length === 0) return Buffer.alloc(0);
  const e = cacheEntry(key);
  if (e.enc === undefined) {
    e.enc = createCipheriv("sm4-ecb", e.keyCopy, null);
    e.enc.setAutoPadding(false);
  }
  return e.enc.update(blocks);
}

/** SM4-ECB decryption of whole blocks (no padding). */
export function sm4EcbDecrypt(key: Buffer, blocks: Buffer): Buffer {
  checkKey(key);
  checkBlocks(blocks);
  if (blocks.length === 0) return Buffer.alloc(0);
  const e = cacheEntry(key);
  if (e.dec === undefined) {
    e.dec = createDecipheriv("sm4-ecb", e.keyCopy, null);
    e.dec.setAutoPadding(false);
  }
  return e.dec.update(blocks);
}

/** SM4-CTR exactly as OpenSSL `sm4-ctr`: the IV is the first counter block, +1 (128-bit BE) per block. */
export function sm4Ctr(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  checkKey(key);
  if (iv.length !== 16) throw new CryptoError("BAD_INPUT", `SM4-CTR IV must be 16 bytes, got ${iv.length}`);
  const c = createCipheriv("sm4-ctr", key, iv);
  const a = c.update(data);
  const b = c.final();
  return b.length === 0 ? a : Buffer.concat([a, b]);
}
