// Straight-line, one-value-at-a-time FF1 (NIST SP 800-38G §6.2, Algorithms 7/8) with BigInt arithmetic and a
// per-block cipher call: the readable reference the batched crypto/ff1.ts is compared with on random inputs.
import { createCipheriv } from "node:crypto";

export function refFf1(
  algo: "aes-128-ecb" | "sm4-ecb",
  key: Buffer,
  radix: number,
  tweak: Buffer,
  x: number[],
  decrypt = false,
): number[] {
  const ciph = (blk: Buffer) => createCipheriv(algo, key, null).setAutoPadding(false).update(blk);
  const n = x.length;
  const t = tweak.length;
  const u = Math.floor(n / 2);
  const v = n - u;
  const R = BigInt(radix);
  const num = (xs: number[]) => xs.reduce((a, d) => a * R + BigInt(d), 0n);
  const str = (val: bigint, m: number) => {
    const out: number[] = new Array(m).fill(0);
    for (let k = m - 1; k >= 0; k--) {
      out[k] = Number(val % R);
      val /= R;
    }
    return out;
  };
  const bytesOf = (val: bigint, len: number) => Buffer.from(val.toString(16).padStart(2 * len, "0"), "hex");
  const b = Math.ceil(Math.ceil(v * Math.log2(radix) - 1e-9) / 8);
  const d = 4 * Math.ceil(b / 4) + 4;
  const P = Buffer.concat([
    Buffer.from([1, 2, 1]),
    bytesOf(BigInt(radix), 3),
    Buffer.from([10, u % 256]),
    bytesOf(BigInt(n), 4),
    bytesOf(BigInt(t), 4),
  ]);
  let A = x.slice(0, u);
  let B = x.slice(u);
  const prf = (data: Buffer) => {
    let y = Buffer.alloc(16);
    for (let o = 0; o < data.length; o += 16) {
      const blk = Buffer.alloc(16);
      for (let q = 0; q < 16; q++) blk[q] = y[q] ^ data[o + q];
      y = ciph(blk);
    }
    return y;
  };
  const roundY = (i: number, half: number[]) => {
    const pad = (((-t - b - 1) % 16) + 16) % 16;
    const Q = Buffer.concat([tweak, Buffer.alloc(pad), Buffer.from([i]), bytesOf(num(half), b)]);
    const Rb = prf(Buffer.concat([P, Q]));
    const parts = [Rb];
    for (let j = 1; j < Math.ceil(d / 16); j++) {
      const blk = Buffer.from(Rb);
      const jb = bytesOf(BigInt(j), 16);
      for (let q = 0; q < 16; q++) blk[q] ^= jb[q];
      parts.push(ciph(blk));
    }
    return BigInt(`0x${Buffer.concat(parts).subarray(0, d).toString("hex")}`);
  };
  if (!decrypt) {
    for (let i = 0; i < 10; i++) {
      const m = i % 2 === 0 ? u : v;
      const M = R ** BigInt(m);
      const c = (num(A) + roundY(i, B)) % M;
      A = B;
      B = str(c, m);
    }
  } else {
    for (let i = 9; i >= 0; i--) {
      const m = i % 2 === 0 ? u : v;
      const M = R ** BigInt(m);
      const c = (((num(B) - roundY(i, A)) % M) + M) % M;
      B = A;
      A = str(c, m);
    }
  }
  return [...A, ...B];
}
