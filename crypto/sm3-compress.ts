// SM3 compression function (GB/T 32905-2016 §5.3) in plain JS on 32-bit integers, with preallocated message
// expansion arrays. Used by HmacSm3 to resume from precomputed ipad/opad midstates, which node:crypto cannot do
// cheaply. Checked against node:crypto's sm3 and the standard vectors in test/crypto.

export const SM3_IV: readonly number[] = [
  0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
];

// T_j rotated left by (j mod 32), precomputed.
const TJ = new Int32Array(64);
for (let j = 0; j < 64; j++) {
  const t = j < 16 ? 0x79cc4519 : 0x7a879d8a;
  const r = j % 32;
  TJ[j] = r === 0 ? t : (t << r) | (t >>> (32 - r));
}

const W = new Int32Array(68);

/** Compresses the 64-byte block at block[off..off+64) into state (8 words, updated in place). */
export function sm3Compress(state: Int32Array, block: Uint8Array, off: number): void {
  const w = W;
  for (let j = 0; j < 16; j++) {
    const o = off + 4 * j;
    w[j] = (block[o] << 24) | (block[o + 1] << 16) | (block[o + 2] << 8) | block[o + 3];
  }
  for (let j = 16; j < 68; j++) {
    const x = w[j - 16] ^ w[j - 9] ^ ((w[j - 3] << 15) | (w[j - 3] >>> 17));
    w[j] = x ^ ((x << 15) | (x >>> 17)) ^ ((x << 23) | (x >>> 9)) ^ ((w[j - 13] << 7) | (w[j - 13] >>> 25)) ^ w[j - 6];
  }
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  let e = state[4];
  let f = state[5];
  let g = state[6];
  let h = state[7];
  // W'[j] = W[j] ^ W[j+4] is computed inline
  for (let j = 0; j < 16; j++) {
    const a12 = (a << 12) | (a >>> 20);
    const s = (a12 + e + TJ[j]) | 0;
    const ss1 = (s << 7) | (s >>> 25);
    const wj = w[j];
    const tt1 = ((a ^ b ^ c) + d + (ss1 ^ a12) + (wj ^ w[j + 4])) | 0;
    const tt2 = ((e ^ f ^ g) + h + ss1 + wj) | 0;
    d = c;
    c = (b << 9) | (b >>> 23);
    b = a;
    a = tt1;
    h = g;
    g = (f << 19) | (f >>> 13);
    f = e;
    e = tt2 ^ ((tt2 << 9) | (tt2 >>> 23)) ^ ((tt2 << 17) | (tt2 >>> 15));
  }
  for (let j = 16; j < 64; j++) {
    const a12 = (a << 12) | (a >>> 20);
    const s = (a12 + e + TJ[j]) | 0;
    const ss1 = (s << 7) | (s >>> 25);
    const wj = w[j];
    // FF = majority(a, b, c); GG = (e & f) | (~e & g), written with fewer operations
    const tt1 = (((a & b) | (c & (a | b))) + d + (ss1 ^ a12) + (wj ^ w[j + 4])) | 0;
    const tt2 = ((g ^ (e & (f ^ g))) + h + ss1 + wj) | 0;
    d = c;
    c = (b << 9) | (b >>> 23);
    b = a;
    a = tt1;
    h = g;
    g = (f << 19) | (f >>> 13);
    f = e;
    e = tt2 ^ ((tt2 << 9) | (tt2 >>> 23)) ^ ((tt2 << 17) | (tt2 >>> 15));
  }
  state[0] ^= a;
  state[1] ^= b;
  state[2] ^= c;
  state[3] ^= d;
  state[4] ^= e;
  state[5] ^= f;
  state[6] ^= g;
  state[7] ^= h;
}
