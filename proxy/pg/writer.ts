// Builds one protocol message: optional type byte, Int32 length (filled in by finish()), then fields.
// Used only for messages smgate creates or rewrites; untouched messages are forwarded as raw slices.

export class MessageWriter {
  private buf: Buffer;
  private pos: number;
  private readonly start: number;

  /** type 0 = untyped message (startup-phase packets: length first). */
  constructor(type: number, initialSize = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(initialSize, 16));
    if (type !== 0) {
      this.buf[0] = type;
      this.start = 1;
    } else this.start = 0;
    this.pos = this.start + 4;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  uint32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  cstring(s: string): this {
    const n = Buffer.byteLength(s, "utf8");
    this.ensure(n + 1);
    this.buf.write(s, this.pos, "utf8");
    this.pos += n;
    this.buf[this.pos++] = 0;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Int32 length prefix then bytes; null → -1. */
  lengthPrefixed(b: Uint8Array | null): this {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    return this.bytes(b);
  }

  finish(): Buffer {
    this.buf.writeInt32BE(this.pos - this.start, this.start);
    return this.buf.subarray(0, this.pos);
  }
}
