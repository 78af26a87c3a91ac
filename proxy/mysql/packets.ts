// Generic packets smgate reads or writes itself: framing a payload (splitting > 16 MiB payloads into
// 0xFFFFFF-byte fragments with consecutive sequence ids), ERR / OK packets, and status flags of OK / EOF.
import { Cap, type ErrSpec, MAX_PACKET_PAYLOAD } from "./constants.js";
import { MalformedPacketError, PayloadReader, PayloadWriter } from "./wire.js";

/** Frame one logical payload starting at `seq`; returns the bytes and the sequence id after the last fragment. */
export function framePacket(payload: Buffer, seq: number): { bytes: Buffer; nextSeq: number } {
  const n = payload.length;
  const fragments = Math.floor(n / MAX_PACKET_PAYLOAD) + 1;
  const out = Buffer.allocUnsafe(n + 4 * fragments);
  let o = 0;
  let p = 0;
  let s = seq;
  for (let i = 0; i < fragments; i++) {
    const len = Math.min(MAX_PACKET_PAYLOAD, n - p);
    out.writeUIntLE(len, o, 3);
    out[o + 3] = s & 0xff;
    payload.copy(out, o + 4, p, p + len);
    o += 4 + len;
    p += len;
    s = (s + 1) & 0xff;
  }
  return { bytes: out, nextSeq: s };
}

/** ERR packet payload (protocol 4.1 form with SQLSTATE marker). */
export function errPayload(spec: ErrSpec, message: string): Buffer {
  const w = new PayloadWriter(16 + message.length);
  w.u8(0xff)
    .u16(spec.code)
    .u8(0x23)
    .bytes(Buffer.from(spec.state.padEnd(5, "0").slice(0, 5), "latin1"));
  w.bytes(Buffer.from(message, "utf8"));
  return w.finish();
}

export function errPacket(spec: ErrSpec, message: string, seq: number): Buffer {
  return framePacket(errPayload(spec, message), seq).bytes;
}

/** Minimal OK packet payload. */
export function okPayload(status: number, affectedRows = 0, lastInsertId = 0, warnings = 0): Buffer {
  return new PayloadWriter(16).u8(0x00).lenenc(affectedRows).lenenc(lastInsertId).u16(status).u16(warnings).finish();
}

/** Status flags of an OK packet (header 0x00 or 0xFE with DEPRECATE_EOF) starting at `start` (no allocation). */
export function okStatus(buf: Buffer, start: number, len: number): number {
  const end = start + len;
  let p = start + 1;
  for (let i = 0; i < 2; i++) {
    if (p >= end) throw new MalformedPacketError("truncated OK packet");
    const b = buf[p];
    p += b < 0xfb ? 1 : b === 0xfc ? 3 : b === 0xfd ? 4 : b === 0xfe ? 9 : end;
  }
  if (p + 2 > end) throw new MalformedPacketError("truncated OK packet");
  return buf[p] | (buf[p + 1] << 8);
}

/** Status flags of an EOF packet (0xFE, 5 bytes) or an OK-as-EOF packet, depending on the capabilities. */
export function terminatorStatus(buf: Buffer, start: number, len: number, capabilities: number): number {
  if (capabilities & Cap.DEPRECATE_EOF && len >= 7) return okStatus(buf, start, len);
  if (len >= 5) return buf.readUInt16LE(start + 3);
  return 0;
}

/** True for an EOF-style terminator (0xFE header, short). */
export function isTerminator(buf: Buffer, start: number, len: number, capabilities: number): boolean {
  if (buf[start] !== 0xfe) return false;
  return capabilities & Cap.DEPRECATE_EOF ? len < MAX_PACKET_PAYLOAD : len < 9;
}

export interface ErrInfo {
  code: number;
  state: string;
  message: string;
}

export function parseErr(payload: Buffer): ErrInfo {
  const r = new PayloadReader(payload, 1);
  const code = r.u16("error code");
  let state = "HY000";
  if (r.remaining > 0 && payload[r.pos] === 0x23) {
    r.skip(1);
    state = r.bytes(5, "sqlstate").toString("latin1");
  }
  return { code, state, message: r.rest().toString("utf8") };
}
