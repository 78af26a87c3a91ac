// FF1 (NIST SP 800-38G rev1) over any 128-bit block cipher given as a batch ECB function, batched across
// values: values of equal length share P, the tweak blocks and the CBC-MAC prefix; the per-value CBC-MAC
// blocks of a round are encrypted with ONE cipher call per block position over all values of the batch.
// Numerals are Uint8Array digits (radix 2..256). Domains up to radix^v ≤ 2^45 use float arithmetic (exact:
// every intermediate stays below 2^53); larger domains use BigInt.
import { CryptoError } from "./errors.js";

/** ECB encryption of whole 16-byte blocks (many per call). */
export type BlockCipher = (blocks: Buffer) => Buffer;
/** The same cipher on `blocks` blocks held as 4 big-endian 32-bit words each, in place (optional fast path). */
export type WordCipher = (x: Int32Array, blocks: number) => void;

/** SP 800-38G rev1: radix^minlen ≥ 1,000,000. */
export const FF1_MIN_DOMAIN = 1_000_000;
const SMALL_LIMIT = 2 ** 45;
const ROUNDS = 10;

interface Geometry {
  n: number;
  u: number;
  v: number;
  b: number;
  d: number;
  qlen: number;
  /** index of the first Q block holding numeral bytes */
  kv: number;
  /** bytes of Q from block kv to the end (multiple of 16) */
  tailLen: number;
  /** CBC-MAC state after P and the round-independent tweak blocks */
  base: Buffer;
  /** index of the first Q block that is not folded into base */
  kFixed: number;
  /** Q without the numeral bytes: T ‖ 0* ‖ [i] (the round byte is patched in per round) */
  qHead: Buffer;
  /** per round: CBC-MAC state after all blocks common to every value (filled lazily) */
  roundCommon: (Buffer | undefined)[];
  small: boolean;
  /**
   * Word fast path (small domain, the numeral in a one-block tail): per round, 4 words of the common CBC-MAC
   * state XOR the tail block with its numeral bytes zeroed (filled lazily).
   */
  tailWords?: Int32Array;
}

/** Geometries are cached per (length, tweak): a column's tweak is fixed, so single-row calls skip P/T blocks. */
const GEO_CACHE_MAX = 256;

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function xor16(dst: Buffer, dOff: number, a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): void {
  for (let q = 0; q < 16; q++) dst[dOff + q] = a[aOff + q] ^ b[bOff + q];
}

export class Ff1 {
  readonly radix: number;
  readonly #cipher: BlockCipher;
  readonly #words: WordCipher | undefined;
  #w = new Int32Array(4 * 256);
  readonly #minLen: number;
  #scratch = Buffer.allocUnsafe(16 * 1024);
  readonly #geoCache = new Map<string, Geometry>();
  #tails = Buffer.allocUnsafe(16 * 1024);
  /** the geometry of the last call (with a copy of its tweak: callers may reuse their buffer) */
  #lastGeo: { n: number; tweak: Uint8Array; geo: Geometry } | undefined;

  /** `words`, when given, must be the same cipher as `cipher` (used for the one-block-per-round fast path). */
  constructor(cipher: BlockCipher, radix: number, words?: WordCipher) {
    if (!Number.isInteger(radix) || radix < 2 || radix > 256) {
      throw new CryptoError("BAD_INPUT", `FF1: radix must be 2..256, got ${radix}`);
    }
    this.radix = radix;
    this.#cipher = cipher;
    this.#words = words;
    let len = 1;
    while (radix ** len < FF1_MIN_DOMAIN) len++;
    this.#minLen = Math.max(2, len);
  }

  /** Smallest numeral string length FF1 accepts for this radix (radix^len ≥ 1,000,000). */
  get minLength(): number {
    return this.#minLen;
  }

  encrypt(tweak: Uint8Array, xs: Uint8Array[]): Uint8Array[] {
    return this.#run(tweak, xs, true);
  }

  decrypt(tweak: Uint8Array, xs: Uint8Array[]): Uint8Array[] {
    return this.#run(tweak, xs, false);
  }

  #run(tweak: Uint8Array, xs: Uint8Array[], enc: boolean): Uint8Array[] {
    const out: Uint8Array[] = new Array(xs.length);
    const groups = new Map<number, number[]>();
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      const n = x.length;
      if (n < this.#minLen || n > 0xffff) {
        throw new CryptoError(
          "FORMAT",
          `FF1: numeral string ${i} has length ${n}; radix ${this.radix} needs ${this.#minLen}..65535 (domain ≥ 1,000,000)`,
        );
      }
      for (let k = 0; k < n; k++) {
        if (x[k] >= this.radix) throw new CryptoError("FORMAT", `FF1: numeral string ${i} has a digit ≥ radix`);
      }
      const g = groups.get(n);
      if (g) g.push(i);
      else groups.set(n, [i]);
    }
    for (const [n, idx] of groups) {
      const geo = this.#geometry(tweak, n);
      const vals = idx.map((i) => xs[i]);
      const res = !geo.small
        ? this.#groupBig(geo, vals, enc)
        : this.#words !== undefined && geo.tailLen === 16
          ? this.#groupWords(geo, vals, enc)
          : this.#groupSmall(geo, vals, enc);
      for (let t = 0; t < idx.length; t++) out[idx[t]] = res[t];
    }
    return out;
  }

  #ecb(blocks: Buffer): Buffer {
    const r = this.#cipher(blocks);
    if (r.length !== blocks.length) throw new CryptoError("BAD_INPUT", "FF1: block cipher returned a wrong length");
    return r;
  }

  #geometry(T: Uint8Array, n: number): Geometry {
    // a column calls with the same tweak and length every time: compare with the last one before building the key
    const last = this.#lastGeo;
    if (last !== undefined && last.n === n && equalBytes(last.tweak, T)) return last.geo;
    const geo = this.#cachedGeometry(T, n);
    this.#lastGeo = { n, tweak: Uint8Array.from(T), geo };
    return geo;
  }

  #cachedGeometry(T: Uint8Array, n: number): Geometry {
    const id = `${n}:${Buffer.from(T.buffer, T.byteOffset, T.byteLength).toString("hex")}`;
    let geo = this.#geoCache.get(id);
    if (geo === undefined) {
      geo = this.#computeGeometry(T, n);
      if (this.#geoCache.size >= GEO_CACHE_MAX) this.#geoCache.clear();
      this.#geoCache.set(id, geo);
    }
    return geo;
  }

  #computeGeometry(T: Uint8Array, n: number): Geometry {
    const radix = this.radix;
    const t = T.length;
    const u = n >>> 1;
    const v = n - u;
    const b = Math.ceil(bitLength(BigInt(radix) ** BigInt(v) - 1n) / 8);
    const d = 4 * Math.ceil(b / 4) + 4;
    const P = Buffer.from([
      1,
      2,
      1,
      radix >>> 16,
      (radix >>> 8) & 0xff,
      radix & 0xff,
      10,
      u & 0xff,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
    ]);
    P.writeUInt32BE(n, 8);
    P.writeUInt32BE(t, 12);
    const pad = (((-t - b - 1) % 16) + 16) % 16;
    const qlen = t + pad + 1 + b;
    const qHead = Buffer.alloc(qlen - b);
    qHead.set(T, 0);
    const kv = Math.floor((qlen - b) / 16);
    const kFixed = Math.floor((qlen - b - 1) / 16);
    let st = this.#ecb(P);
    for (let k = 0; k < kFixed; k++) {
      const blk = Buffer.allocUnsafe(16);
      xor16(blk, 0, st, 0, qHead, 16 * k);
      st = this.#ecb(blk);
    }
    return {
      n,
      u,
      v,
      b,
      d,
      qlen,
      kv,
      tailLen: qlen - 16 * kv,
      base: st,
      kFixed,
      qHead,
      roundCommon: new Array(ROUNDS),
      small: radix ** v <= SMALL_LIMIT,
    };
  }

  #grow(tailBytes: number, scratchBytes: number): void {
    if (this.#tails.length < tailBytes) this.#tails = Buffer.allocUnsafe(tailBytes * 2);
    if (this.#scratch.length < scratchBytes) this.#scratch = Buffer.allocUnsafe(scratchBytes * 2);
  }

  /**
   * CBC-MAC over P ‖ Q for every value of the round (tails already written), returning R for all values
   * (16 bytes each) in one buffer.
   */
  /** CBC-MAC state of round `round` after every block before the tail (qHead's round byte left patched). */
  #roundCommon(geo: Geometry, round: number): Buffer {
    const qHead = geo.qHead;
    qHead[qHead.length - 1] = round;
    let common = geo.roundCommon[round];
    if (common === undefined) {
      common = geo.base;
      for (let k = geo.kFixed; k < geo.kv; k++) {
        const blk = Buffer.allocUnsafe(16);
        xor16(blk, 0, common, 0, qHead, 16 * k);
        common = this.#ecb(blk);
      }
      geo.roundCommon[round] = common;
    }
    return common;
  }

  /** Word fast-path state: per round, common state XOR the tail block without its numeral bytes. */
  #tailWords(geo: Geometry): Int32Array {
    if (geo.tailWords !== undefined) return geo.tailWords;
    const tw = new Int32Array(4 * ROUNDS);
    const head = geo.qlen - geo.b - 16 * geo.kv;
    const blk = Buffer.alloc(16);
    for (let r = 0; r < ROUNDS; r++) {
      const common = this.#roundCommon(geo, r);
      blk.fill(0);
      for (let q = 0; q < head; q++) blk[q] = geo.qHead[16 * geo.kv + q];
      for (let k = 0; k < 4; k++) tw[4 * r + k] = common.readInt32BE(4 * k) ^ blk.readInt32BE(4 * k);
    }
    geo.tailWords = tw;
    return tw;
  }

  #prfRound(geo: Geometry, round: number, cnt: number): Buffer {
    const qHead = geo.qHead;
    const common = this.#roundCommon(geo, round);
    const L = geo.tailLen;
    const head = geo.qlen - geo.b - 16 * geo.kv;
    const tails = this.#tails;
    // common head of the tail (tweak end, zero padding, round byte)
    for (let j = 0; j < cnt; j++) {
      const o = j * L;
      for (let q = 0; q < head; q++) tails[o + q] = qHead[16 * geo.kv + q];
    }
    const scratch = this.#scratch;
    let states: Buffer = common;
    for (let p = 0; p < L / 16; p++) {
      for (let j = 0; j < cnt; j++) xor16(scratch, 16 * j, states, p === 0 ? 0 : 16 * j, tails, j * L + 16 * p);
      states = this.#ecb(scratch.subarray(0, 16 * cnt));
    }
    return states;
  }

  /**
   * Small domain whose round input is ONE block after the common prefix: each round is one word-cipher
   * call over all values' (state XOR tail) blocks with the numerals XORed into the last words, no buffers. d ≤ 12 here (b ≤ 6).
   */
  #groupWords(geo: Geometry, vals: Uint8Array[], enc: boolean): Uint8Array[] {
    const { u, v, d } = geo;
    const radix = this.radix;
    const cnt = vals.length;
    const tw = this.#tailWords(geo);
    const words = this.#words as WordCipher;
    if (this.#w.length < 4 * cnt) this.#w = new Int32Array(4 * cnt * 2);
    const w = this.#w;
    const A = new Float64Array(cnt);
    const B = new Float64Array(cnt);
    for (let j = 0; j < cnt; j++) {
      const x = vals[j];
      let a = 0;
      for (let k = 0; k < u; k++) a = a * radix + x[k];
      let bb = 0;
      for (let k = u; k < geo.n; k++) bb = bb * radix + x[k];
      A[j] = a;
      B[j] = bb;
    }
    const Mu = radix ** u;
    const Mv = radix ** v;
    for (let r = 0; r < ROUNDS; r++) {
      const i = enc ? r : ROUNDS - 1 - r;
      const src = enc ? B : A; // the half that feeds the PRF
      const M = i % 2 === 0 ? Mu : Mv;
      const wordWise = M <= 67108864;
      const c32 = 4294967296 % M;
      const inv = 1 / M;
      const t0 = tw[4 * i];
      const t1 = tw[4 * i + 1];
      const t2 = tw[4 * i + 2];
      const t3 = tw[4 * i + 3];
      // NUM_b(src) < 2^48 occupies the last b ≤ 6 bytes of the block: its low 32 bits go to word 3, the rest
      // to word 2 (ToInt32 of an integral double is its value mod 2^32; of x / 2^32, its integer part)
      for (let j = 0; j < cnt; j++) {
        const x = src[j];
        const o = 4 * j;
        w[o] = t0;
        w[o + 1] = t1;
        w[o + 2] = t2 ^ (x / 4294967296);
        w[o + 3] = t3 ^ x;
      }
      words(w, cnt);
      for (let j = 0; j < cnt; j++) {
        const o = 4 * j;
        // y = NUM(R[0..d)) mod M (bounds as in #groupSmall); word-wise with an exact reciprocal reduction:
        // for z < 2^53 the estimate floor(z·(1/M)) is off by at most one, corrected below
        let y = 0;
        if (wordWise) {
          for (let k = 0; k < d >>> 2; k++) {
            const z = y * c32 + (w[o + k] >>> 0);
            let m = z - Math.floor(z * inv) * M;
            if (m < 0) m += M;
            else if (m >= M) m -= M;
            y = m;
          }
        } else {
          for (let k = 0; k < d; k++) y = (y * 256 + ((w[o + (k >>> 2)] >>> (24 - 8 * (k & 3))) & 255)) % M;
        }
        if (enc) {
          let c = A[j] + y;
          if (c >= M) c -= M;
          A[j] = B[j];
          B[j] = c;
        } else {
          let c = B[j] - y;
          if (c < 0) c += M;
          B[j] = A[j];
          A[j] = c;
        }
      }
    }
    return this.#digitsOut(geo, A, B);
  }

  #digitsOut(geo: Geometry, A: Float64Array, B: Float64Array): Uint8Array[] {
    const { u } = geo;
    const radix = this.radix;
    const cnt = A.length;
    const out: Uint8Array[] = new Array(cnt);
    for (let j = 0; j < cnt; j++) {
      const z = new Uint8Array(geo.n);
      let a = A[j];
      for (let k = u - 1; k >= 0; k--) {
        const q = a % radix;
        z[k] = q;
        a = (a - q) / radix;
      }
      let bb = B[j];
      for (let k = geo.n - 1; k >= u; k--) {
        const q = bb % radix;
        z[k] = q;
        bb = (bb - q) / radix;
      }
      out[j] = z;
    }
    return out;
  }

  #groupSmall(geo: Geometry, vals: Uint8Array[], enc: boolean): Uint8Array[] {
    const { u, v, b, d } = geo;
    const radix = this.radix;
    const cnt = vals.length;
    const L = geo.tailLen;
    this.#grow(cnt * L, cnt * 16);
    const A = new Float64Array(cnt);
    const B = new Float64Array(cnt);
    for (let j = 0; j < cnt; j++) {
      const x = vals[j];
      let a = 0;
      for (let k = 0; k < u; k++) a = a * radix + x[k];
      let bb = 0;
      for (let k = u; k < geo.n; k++) bb = bb * radix + x[k];
      A[j] = a;
      B[j] = bb;
    }
    const Mu = radix ** u;
    const Mv = radix ** v;
    const head = geo.qlen - b - 16 * geo.kv;
    const tails = this.#tails;
    for (let r = 0; r < ROUNDS; r++) {
      const i = enc ? r : ROUNDS - 1 - r;
      const src = enc ? B : A; // the half that feeds the PRF
      for (let j = 0; j < cnt; j++) {
        let x = src[j];
        const o = j * L + head;
        let k = b - 1;
        // bytes below 2^32 with integer ops, the rest (domains > 2^32) with exact float division
        for (; k >= 0 && x >= 4294967296; k--) {
          const q = x % 256;
          tails[o + k] = q;
          x = (x - q) / 256;
        }
        let xi = x >>> 0;
        for (; k >= 0; k--) {
          tails[o + k] = xi & 0xff;
          xi >>>= 8;
        }
      }
      const R = this.#prfRound(geo, i, cnt);
      const M = i % 2 === 0 ? Mu : Mv;
      // y = NUM(S) mod M. With M ≤ 2^26, Horner over 32-bit words stays below 2^53 (r·(2^32 mod M) + w);
      // otherwise Horner over bytes (r·256 + byte < 2^53 for M ≤ 2^45). d is a multiple of 4.
      const wordWise = M <= 67108864;
      const c32 = 4294967296 % M;
      for (let j = 0; j < cnt; j++) {
        let y = 0;
        const o = 16 * j;
        if (wordWise) {
          for (let k = 0; k < d; k += 4) {
            const w = ((R[o + k] << 24) | (R[o + k + 1] << 16) | (R[o + k + 2] << 8) | R[o + k + 3]) >>> 0;
            y = (y * c32 + w) % M;
          }
        } else {
          for (let k = 0; k < d; k++) y = (y * 256 + R[o + k]) % M;
        }
        if (enc) {
          let c = A[j] + y;
          if (c >= M) c -= M;
          A[j] = B[j];
          B[j] = c;
        } else {
          let c = B[j] - y;
          if (c < 0) c += M;
          B[j] = A[j];
          A[j] = c;
        }
      }
    }
    return this.#digitsOut(geo, A, B);
  }

  #groupBig(geo: Geometry, vals: Uint8Array[], enc: boolean): Uint8Array[] {
    const { u, v, b, d } = geo;
    const radix = BigInt(this.radix);
    const cnt = vals.length;
    const L = geo.tailLen;
    const extBlocks = Math.ceil(d / 16) - 1;
    this.#grow(cnt * L, cnt * 16 * Math.max(1, extBlocks));
    const A: bigint[] = new Array(cnt);
    const B: bigint[] = new Array(cnt);
    for (let j = 0; j < cnt; j++) {
      const x = vals[j];
      let a = 0n;
      for (let k = 0; k < u; k++) a = a * radix + BigInt(x[k]);
      let bb = 0n;
      for (let k = u; k < geo.n; k++) bb = bb * radix + BigInt(x[k]);
      A[j] = a;
      B[j] = bb;
    }
    const Mu = radix ** BigInt(u);
    const Mv = radix ** BigInt(v);
    const head = geo.qlen - b - 16 * geo.kv;
    const tails = this.#tails;
    for (let r = 0; r < ROUNDS; r++) {
      const i = enc ? r : ROUNDS - 1 - r;
      const src = enc ? B : A;
      for (let j = 0; j < cnt; j++) tails.write(src[j].toString(16).padStart(2 * b, "0"), j * L + head, b, "hex");
      const R = Buffer.from(this.#prfRound(geo, i, cnt));
      let ext: Buffer | undefined;
      if (extBlocks > 0) {
        const sc = this.#scratch;
        for (let j = 0; j < cnt; j++) {
          for (let e = 0; e < extBlocks; e++) {
            const o = 16 * (j * extBlocks + e);
            R.copy(sc, o, 16 * j, 16 * j + 16);
            // XOR with [e+1] as a 16-byte big-endian integer (e+1 < 2^32 here)
            const c = e + 1;
            sc[o + 12] ^= c >>> 24;
            sc[o + 13] ^= (c >>> 16) & 0xff;
            sc[o + 14] ^= (c >>> 8) & 0xff;
            sc[o + 15] ^= c & 0xff;
          }
        }
        ext = this.#ecb(sc.subarray(0, 16 * cnt * extBlocks));
      }
      const M = i % 2 === 0 ? Mu : Mv;
      for (let j = 0; j < cnt; j++) {
        let hex = R.toString("hex", 16 * j, 16 * j + 16);
        if (ext) hex += ext.toString("hex", 16 * j * extBlocks, 16 * (j + 1) * extBlocks);
        const y = BigInt(`0x${hex.slice(0, 2 * d)}`);
        if (enc) {
          const c = (A[j] + y) % M;
          A[j] = B[j];
          B[j] = c;
        } else {
          const c = (((B[j] - y) % M) + M) % M;
          B[j] = A[j];
          A[j] = c;
        }
      }
    }
    const out: Uint8Array[] = new Array(cnt);
    for (let j = 0; j < cnt; j++) {
      const z = new Uint8Array(geo.n);
      let a = A[j];
      for (let k = u - 1; k >= 0; k--) {
        z[k] = Number(a % radix);
        a /= radix;
      }
      let bb = B[j];
      for (let k = geo.n - 1; k >= u; k--) {
        z[k] = Number(bb % radix);
        bb /= radix;
      }
      out[j] = z;
    }
    return out;
  }
}
