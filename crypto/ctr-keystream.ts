// Batched SM4-CTR core: writes the counter blocks of many fields into one grow-only scratch buffer,
// encrypts them with ONE SM4-ECB pass (in place) and XORs the keystream into the destinations. Counter semantics are
// OpenSSL's sm4-ctr: the 16-byte IV is the first counter block, incremented as a 128-bit big-endian integer.
import { sm4Encryptor } from "./sm4-tables.js";

let scratch = Buffer.allocUnsafe(16 * 1024);
/** Batches needing more counter bytes than this get a one-off buffer instead of growing the shared one. */
const SCRATCH_MAX = 4 * 1024 * 1024;

/**
 * Grow-only scratch for counter blocks (up to SCRATCH_MAX, beyond that a one-off buffer); the caller must
 * finish with it before the next call.
 */
export function counterScratch(bytes: number): Buffer {
  if (scratch.length < bytes) {
    if (bytes > SCRATCH_MAX) return Buffer.allocUnsafe(bytes);
    let n = scratch.length;
    while (n < bytes) n *= 2;
    scratch = Buffer.allocUnsafe(n);
  }
  return scratch;
}

/** Number of 16-byte blocks covering `len` bytes. */
export function blocksFor(len: number): number {
  return (len + 15) >>> 4;
}

/**
 * Writes `n` consecutive counter blocks starting from iv[ivOff..ivOff+16) at dst[pos..].
 * Returns the position after the last block.
 */
export function writeCounters(dst: Uint8Array, pos: number, iv: Uint8Array, ivOff: number, n: number): number {
  if (n === 0) return pos;
  for (let j = 0; j < 16; j++) dst[pos + j] = iv[ivOff + j];
  let p = pos + 16;
  for (let k = 1; k < n; k++, p += 16) {
    for (let j = 0; j < 16; j++) dst[p + j] = dst[p - 16 + j];
    let i = p + 15;
    while (i >= p) {
      const v = (dst[i] + 1) & 0xff;
      dst[i] = v;
      if (v !== 0) break;
      i--;
    }
  }
  return p;
}

/**
 * Encrypts the first `bytes` bytes of the counter blocks IN PLACE (JS SM4, no allocation) and returns that
 * range: the keystream for the whole batch.
 */
export function keystreamFor(encKey: Buffer, counters: Buffer, bytes: number): Buffer {
  if (bytes % 16 !== 0) throw new RangeError("keystreamFor: counter bytes must be a multiple of 16");
  sm4Encryptor(encKey).encryptBlocks(counters, 0, counters, 0, bytes >>> 4);
  return counters.subarray(0, bytes);
}

/** dst[dOff..dOff+len) = src[sOff..) XOR ks[kOff..). */
export function xorInto(
  dst: Uint8Array,
  dOff: number,
  src: Uint8Array,
  sOff: number,
  ks: Uint8Array,
  kOff: number,
  len: number,
): void {
  for (let j = 0; j < len; j++) dst[dOff + j] = src[sOff + j] ^ ks[kOff + j];
}
