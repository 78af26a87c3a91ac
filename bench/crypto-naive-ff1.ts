// Naive FF1-SM4 baseline for bench/crypto.ts: one value at a time, BigInt numerals, one SM4-ECB call per
// CBC-MAC block (cipher object reused) — how FF1 is usually written, kept here only for comparison.
import { createCipheriv } from "node:crypto";

export function naiveFf1Encrypt(key: Buffer, tweak: Buffer, digits: string): string {
  const c = createCipheriv("sm4-ecb", key, null).setAutoPadding(false);
  const n = digits.length;
  const t = tweak.length;
  const u = n >> 1;
  const v = n - u;
  const b = Math.ceil(Math.ceil(v * Math.log2(10)) / 8);
  const d = 4 * Math.ceil(b / 4) + 4;
  const P = Buffer.from([1, 2, 1, 0, 0, 10, 10, u, 0, 0, 0, 0, 0, 0, 0, 0]);
  P.writeUInt32BE(n, 8);
  P.writeUInt32BE(t, 12);
  let A = BigInt(digits.slice(0, u));
  let B = BigInt(digits.slice(u));
  const pad = (((-t - b - 1) % 16) + 16) % 16;
  for (let i = 0; i < 10; i++) {
    const Q = Buffer.concat([
      tweak,
      Buffer.alloc(pad),
      Buffer.from([i]),
      Buffer.from(B.toString(16).padStart(2 * b, "0"), "hex"),
    ]);
    const PQ = Buffer.concat([P, Q]);
    let y = Buffer.alloc(16);
    for (let o = 0; o < PQ.length; o += 16) {
      const blk = Buffer.alloc(16);
      for (let q = 0; q < 16; q++) blk[q] = y[q] ^ PQ[o + q];
      y = c.update(blk);
    }
    const m = i % 2 === 0 ? u : v;
    const M = 10n ** BigInt(m);
    const cc = (A + BigInt(`0x${y.subarray(0, d).toString("hex")}`)) % M;
    A = B;
    B = cc;
  }
  return A.toString().padStart(u, "0") + B.toString().padStart(v, "0");
}
