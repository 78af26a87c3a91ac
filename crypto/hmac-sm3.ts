// HMAC-SM3 (RFC 2104 over SM3) with the inner and outer midstates (key XOR ipad / opad) precomputed once per
// key, so each MAC costs only the message blocks plus one outer compression. Besides the varargs API of the
// contract, a streaming begin/update/finishInto API lets hot paths MAC slices of larger buffers and write the
// (truncated) tag straight into an output buffer without intermediate Buffers.
import { createHash } from "node:crypto";
import { SM3_IV, sm3Compress } from "./sm3-compress.js";

export class HmacSm3 {
  readonly #inner = new Int32Array(8);
  readonly #outer = new Int32Array(8);
  // streaming state
  readonly #st = new Int32Array(8);
  readonly #block = new Uint8Array(64);
  #blockLen = 0;
  #total = 0;

  constructor(key: Uint8Array) {
    const k = new Uint8Array(64);
    if (key.length > 64) k.set(createHash("sm3").update(key).digest());
    else k.set(key);
    const pad = new Uint8Array(64);
    for (let i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    for (let i = 0; i < 8; i++) this.#inner[i] = SM3_IV[i];
    sm3Compress(this.#inner, pad, 0);
    for (let i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
    for (let i = 0; i < 8; i++) this.#outer[i] = SM3_IV[i];
    sm3Compress(this.#outer, pad, 0);
    k.fill(0);
    pad.fill(0);
  }

  /** Starts a new MAC computation (discarding any unfinished one). */
  begin(): void {
    this.#st.set(this.#inner);
    this.#blockLen = 0;
    this.#total = 0;
  }

  /** Feeds data[off..off+len). */
  update(data: Uint8Array, off = 0, len = data.length - off): void {
    const blk = this.#block;
    const st = this.#st;
    let bl = this.#blockLen;
    this.#total += len;
    let i = off;
    const end = off + len;
    if (bl > 0) {
      while (bl < 64 && i < end) blk[bl++] = data[i++];
      if (bl === 64) {
        sm3Compress(st, blk, 0);
        bl = 0;
      }
    }
    while (end - i >= 64) {
      sm3Compress(st, data, i);
      i += 64;
    }
    while (i < end) blk[bl++] = data[i++];
    this.#blockLen = bl;
  }

  /** Finishes the MAC and writes its first n (≤ 32) bytes to out[off..off+n). */
  finishInto(out: Uint8Array, off: number, n: number): void {
    const blk = this.#block;
    const st = this.#st;
    let bl = this.#blockLen;
    blk[bl++] = 0x80;
    if (bl > 56) {
      while (bl < 64) blk[bl++] = 0;
      sm3Compress(st, blk, 0);
      bl = 0;
    }
    while (bl < 56) blk[bl++] = 0;
    const bits = (this.#total + 64) * 8;
    const hi = Math.floor(bits / 0x100000000);
    const lo = bits >>> 0;
    blk[56] = hi >>> 24;
    blk[57] = hi >>> 16;
    blk[58] = hi >>> 8;
    blk[59] = hi;
    blk[60] = lo >>> 24;
    blk[61] = lo >>> 16;
    blk[62] = lo >>> 8;
    blk[63] = lo;
    sm3Compress(st, blk, 0);
    // outer: one block = inner digest (32 B) ‖ 0x80 ‖ zeros ‖ bit length (64 + 32) * 8 = 768
    for (let i = 0; i < 8; i++) {
      const v = st[i];
      blk[4 * i] = v >>> 24;
      blk[4 * i + 1] = v >>> 16;
      blk[4 * i + 2] = v >>> 8;
      blk[4 * i + 3] = v;
    }
    blk[32] = 0x80;
    for (let i = 33; i < 62; i++) blk[i] = 0;
    blk[62] = 0x03;
    blk[63] = 0x00;
    st.set(this.#outer);
    sm3Compress(st, blk, 0);
    for (let i = 0; i < n; i++) out[off + i] = st[i >>> 2] >>> (24 - 8 * (i & 3));
    this.#blockLen = 0;
    this.#total = 0;
  }

  /** Full 32-byte HMAC-SM3 of the concatenation of parts. */
  mac(...parts: Uint8Array[]): Buffer {
    this.begin();
    for (const p of parts) this.update(p, 0, p.length);
    const out = Buffer.allocUnsafe(32);
    this.finishInto(out, 0, 32);
    return out;
  }

  /** First 16 bytes of HMAC-SM3 of the concatenation of parts. */
  mac16(...parts: Uint8Array[]): Buffer {
    this.begin();
    for (const p of parts) this.update(p, 0, p.length);
    const out = Buffer.allocUnsafe(16);
    this.finishInto(out, 0, 16);
    return out;
  }
}
