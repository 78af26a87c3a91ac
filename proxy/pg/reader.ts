// Bounds-checked reader over one message's bytes [start, end) of a Buffer (no copying).
// Every read that would run past `end` throws PgProtocolError (08P01): decoders are safe on hostile input.
import { PgProtocolError } from "./errors.js";

export class MessageReader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    readonly what = "message",
  ) {
    this.pos = start;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new PgProtocolError(`truncated ${this.what}: needs ${n} more byte(s)`);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Null-terminated string (UTF-8). */
  cstring(): string {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw new PgProtocolError(`unterminated string in ${this.what}`);
    const s = this.buf.toString("utf8", this.pos, nul);
    this.pos = nul + 1;
    return s;
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Buffer {
    if (n < 0) throw new PgProtocolError(`negative length ${n} in ${this.what}`);
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Int32 length-prefixed value; -1 is SQL NULL. Returns a view. */
  lengthPrefixed(): Buffer | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < -1) throw new PgProtocolError(`invalid value length ${n} in ${this.what}`);
    return this.bytes(n);
  }

  /** Throw unless exactly at the end (trailing garbage is a protocol violation). */
  done(): void {
    if (this.pos !== this.end)
      throw new PgProtocolError(`${this.end - this.pos} unexpected trailing byte(s) in ${this.what}`);
  }
}
