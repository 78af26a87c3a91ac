// Bounds-checked cursor over one packet payload (MySQL integer / length-encoded / NUL-terminated fields) and a
// growable writer for the packets smgate builds itself. Every read past the end throws MalformedPacketError,
// which the connection turns into an ERR packet and a closed connection.

export class MalformedPacketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedPacketError";
  }
}

/** Value returned by readLenencInt for the NULL marker (0xFB) in text rows. */
export const LENENC_NULL = -1;

export class PayloadReader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new MalformedPacketError(`truncated packet reading ${what} (need ${n} bytes, have ${this.end - this.pos})`);
    }
  }

  u8(what = "u8"): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  u16(what = "u16"): number {
    this.need(2, what);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(what = "u24"): number {
    this.need(3, what);
    const v = this.buf.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u32(what = "u32"): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(what = "u64"): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Length-encoded integer; LENENC_NULL for 0xFB. Values beyond 2^53 are rejected (no packet can be that long). */
  lenenc(what = "length-encoded integer"): number {
    const first = this.u8(what);
    if (first < 0xfb) return first;
    if (first === 0xfb) return LENENC_NULL;
    if (first === 0xfc) return this.u16(what);
    if (first === 0xfd) return this.u24(what);
    if (first === 0xfe) {
      const v = this.u64(what);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedPacketError(`${what} out of range`);
      return Number(v);
    }
    throw new MalformedPacketError(`invalid length-encoded integer prefix 0xff in ${what}`);
  }

  bytes(n: number, what = "bytes"): Buffer {
    this.need(n, what);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  skip(n: number, what = "filler"): void {
    this.need(n, what);
    this.pos += n;
  }

  /** Length-encoded string; null for the NULL marker. */
  lenencBytes(what = "length-encoded string"): Buffer | null {
    const n = this.lenenc(what);
    if (n === LENENC_NULL) return null;
    return this.bytes(n, what);
  }

  lenencString(what = "length-encoded string"): string {
    const b = this.lenencBytes(what);
    if (b === null) throw new MalformedPacketError(`unexpected NULL in ${what}`);
    return b.toString("utf8");
  }

  /** NUL-terminated bytes; if `allowEof`, a missing terminator takes the rest of the payload. */
  nulBytes(what = "NUL-terminated string", allowEof = false): Buffer {
    const idx = this.buf.indexOf(0, this.pos);
    if (idx < 0 || idx >= this.end) {
      if (!allowEof) throw new MalformedPacketError(`missing NUL terminator in ${what}`);
      return this.bytes(this.end - this.pos, what);
    }
    const b = this.buf.subarray(this.pos, idx);
    this.pos = idx + 1;
    return b;
  }

  nulString(what = "NUL-terminated string", allowEof = false): string {
    return this.nulBytes(what, allowEof).toString("utf8");
  }

  rest(): Buffer {
    const b = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return b;
  }
}

/** Growable little-endian payload builder (used only for packets smgate creates or rewrites). */
export class PayloadWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16LE(v & 0xffff, this.len);
    this.len += 2;
    return this;
  }

  u24(v: number): this {
    this.ensure(3);
    this.buf.writeUIntLE(v & 0xffffff, this.len, 3);
    this.len += 3;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
    return this;
  }

  u64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigUInt64LE(v, this.len);
    this.len += 8;
    return this;
  }

  lenenc(v: number): this {
    if (v < 0xfb) return this.u8(v);
    if (v <= 0xffff) return this.u8(0xfc).u16(v);
    if (v <= 0xffffff) return this.u8(0xfd).u24(v);
    return this.u8(0xfe).u64(BigInt(v));
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }

  /** OR `bits` into the byte already written at `at` (a NULL bitmap filled after its place was reserved). */
  orAt(at: number, bits: number): this {
    if (at >= this.len) throw new RangeError("PayloadWriter.orAt past the written bytes");
    this.buf[at] |= bits;
    return this;
  }

  lenencBytes(b: Uint8Array | null): this {
    if (b === null) return this.u8(0xfb);
    return this.lenenc(b.length).bytes(b);
  }

  lenencString(s: string): this {
    return this.lenencBytes(Buffer.from(s, "utf8"));
  }

  nulString(s: string | Uint8Array): this {
    this.bytes(typeof s === "string" ? Buffer.from(s, "utf8") : s);
    return this.u8(0);
  }

  get length(): number {
    return this.len;
  }

  /** Overwrite a 3-byte little-endian value at `at` (a packet length filled in once its payload is written). */
  u24At(at: number, v: number): this {
    if (at + 3 > this.len) throw new RangeError("PayloadWriter.u24At past the written bytes");
    this.buf[at] = v & 0xff;
    this.buf[at + 1] = (v >> 8) & 0xff;
    this.buf[at + 2] = (v >> 16) & 0xff;
    return this;
  }

  /** The bytes written from `from` on (a view: valid until the next write). */
  view(from: number): Buffer {
    return this.buf.subarray(from, this.len);
  }

  /** Forget what was written after the first `n` bytes. */
  truncate(n: number): this {
    if (n < 0 || n > this.len) throw new RangeError("PayloadWriter.truncate out of range");
    this.len = n;
    return this;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Size of a length-encoded integer prefix for `v`. */
export function lenencSize(v: number): number {
  if (v < 0xfb) return 1;
  if (v <= 0xffff) return 3;
  if (v <= 0xffffff) return 4;
  return 9;
}
