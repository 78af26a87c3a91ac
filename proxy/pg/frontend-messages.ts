// Typed decoders and encoders for frontend (client → server) messages, including the untyped
// startup-phase packets. Decoders take (buf, start, end) with the header included and return views
// (no copies) for binary fields; they throw PgProtocolError (08P01) on malformed input.
import { PgProtocolError } from "./errors.js";
import {
  CANCEL_REQUEST_CODE,
  F,
  GSSENC_REQUEST_CODE,
  MAX_STARTUP_PACKET,
  PROTOCOL_3_0,
  SSL_REQUEST_CODE,
} from "./message-types.js";
import { MessageReader } from "./reader.js";
import { MessageWriter } from "./writer.js";

// ---------- startup phase (untyped: Int32 length, Int32 code, ...) ----------

export type StartupPacket =
  | { kind: "ssl" }
  | { kind: "gssenc" }
  | { kind: "cancel"; pid: number; secret: number }
  | { kind: "startup"; protocol: number; params: Map<string, string>; raw: Buffer };

/** Length of the startup packet at the start of buf, or -1 if fewer than 4 bytes are there. Validates bounds. */
export function startupPacketLength(buf: Buffer): number {
  if (buf.length < 4) return -1;
  const len = buf.readUInt32BE(0);
  if (len < 8 || len > MAX_STARTUP_PACKET) throw new PgProtocolError(`invalid startup packet length ${len}`);
  return len;
}

export function decodeStartupPacket(buf: Buffer): StartupPacket {
  const r = new MessageReader(buf, 4, buf.length, "startup packet");
  const code = r.int32();
  if (code === SSL_REQUEST_CODE) {
    r.done();
    return { kind: "ssl" };
  }
  if (code === GSSENC_REQUEST_CODE) {
    r.done();
    return { kind: "gssenc" };
  }
  if (code === CANCEL_REQUEST_CODE) {
    const pid = r.int32();
    const secret = r.int32();
    r.done();
    return { kind: "cancel", pid, secret };
  }
  if (code >>> 16 !== 3) {
    throw new PgProtocolError(
      `unsupported frontend protocol ${code >>> 16}.${code & 0xffff}: server supports 3.0 to 3.0`,
      "0A000",
    );
  }
  const params = new Map<string, string>();
  for (;;) {
    const key = r.cstring();
    if (key === "") break;
    params.set(key, r.cstring());
  }
  r.done();
  if (!params.has("user")) throw new PgProtocolError("no PostgreSQL user name specified in startup packet", "28000");
  return { kind: "startup", protocol: code, params, raw: buf };
}

export function encodeStartup(params: Map<string, string> | Record<string, string>, protocol = PROTOCOL_3_0): Buffer {
  const w = new MessageWriter(0).int32(protocol);
  const entries = params instanceof Map ? params.entries() : Object.entries(params);
  for (const [k, v] of entries) w.cstring(k).cstring(v);
  return w.byte(0).finish();
}

export function encodeSSLRequest(): Buffer {
  return new MessageWriter(0, 8).int32(SSL_REQUEST_CODE).finish();
}

export function encodeGSSENCRequest(): Buffer {
  return new MessageWriter(0, 8).int32(GSSENC_REQUEST_CODE).finish();
}

export function encodeCancelRequest(pid: number, secret: number): Buffer {
  return new MessageWriter(0, 16).int32(CANCEL_REQUEST_CODE).int32(pid).int32(secret).finish();
}

// ---------- typed messages ----------

export interface ParseMessage {
  name: string;
  sql: string;
  paramTypes: number[];
}

export interface BindMessage {
  portal: string;
  statement: string;
  paramFormats: number[];
  params: (Buffer | null)[];
  resultFormats: number[];
}

export interface DescribeMessage {
  /** 'S' statement or 'P' portal */
  target: "S" | "P";
  name: string;
}

export interface ExecuteMessage {
  portal: string;
  maxRows: number;
}

export type CloseMessage = DescribeMessage;

function reader(buf: Buffer, start: number, end: number, what: string): MessageReader {
  return new MessageReader(buf, start + 5, end, what);
}

export function decodeQuery(buf: Buffer, start: number, end: number): string {
  const r = reader(buf, start, end, "Query");
  const sql = r.cstring();
  r.done();
  return sql;
}

export function decodeParse(buf: Buffer, start: number, end: number): ParseMessage {
  const r = reader(buf, start, end, "Parse");
  const name = r.cstring();
  const sql = r.cstring();
  const n = r.int16();
  if (n < 0) throw new PgProtocolError(`negative parameter count in Parse`);
  const paramTypes = new Array<number>(n);
  for (let i = 0; i < n; i++) paramTypes[i] = r.uint32();
  r.done();
  return { name, sql, paramTypes };
}

function int16List(r: MessageReader, what: string): number[] {
  const n = r.int16();
  if (n < 0) throw new PgProtocolError(`negative ${what} count`);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = r.int16();
  return out;
}

export function decodeBind(buf: Buffer, start: number, end: number): BindMessage {
  const r = reader(buf, start, end, "Bind");
  const portal = r.cstring();
  const statement = r.cstring();
  const paramFormats = int16List(r, "parameter format");
  const n = r.int16();
  if (n < 0) throw new PgProtocolError(`negative parameter count in Bind`);
  const params = new Array<Buffer | null>(n);
  for (let i = 0; i < n; i++) params[i] = r.lengthPrefixed();
  const resultFormats = int16List(r, "result format");
  r.done();
  return { portal, statement, paramFormats, params, resultFormats };
}

function decodeTarget(buf: Buffer, start: number, end: number, what: string): DescribeMessage {
  const r = reader(buf, start, end, what);
  const t = r.byte();
  if (t !== 0x53 && t !== 0x50) throw new PgProtocolError(`invalid ${what} target type ${t}`);
  const name = r.cstring();
  r.done();
  return { target: t === 0x53 ? "S" : "P", name };
}

export function decodeDescribe(buf: Buffer, start: number, end: number): DescribeMessage {
  return decodeTarget(buf, start, end, "Describe");
}

export function decodeClose(buf: Buffer, start: number, end: number): CloseMessage {
  return decodeTarget(buf, start, end, "Close");
}

export function decodeExecute(buf: Buffer, start: number, end: number): ExecuteMessage {
  const r = reader(buf, start, end, "Execute");
  const portal = r.cstring();
  const maxRows = r.int32();
  r.done();
  return { portal, maxRows };
}

export function decodeCopyFail(buf: Buffer, start: number, end: number): string {
  const r = reader(buf, start, end, "CopyFail");
  const m = r.cstring();
  r.done();
  return m;
}

export function encodeQuery(sql: string): Buffer {
  return new MessageWriter(F.Query, sql.length + 8).cstring(sql).finish();
}

export function encodeParse(m: ParseMessage): Buffer {
  const w = new MessageWriter(F.Parse, m.sql.length + 32).cstring(m.name).cstring(m.sql).int16(m.paramTypes.length);
  for (const t of m.paramTypes) w.uint32(t);
  return w.finish();
}

export function encodeBind(m: BindMessage): Buffer {
  // sized to fit (a rewritten Bind carries ciphertexts: no regrowth of the buffer)
  let size = 16 + 3 * m.portal.length + 3 * m.statement.length + 2 * (m.paramFormats.length + m.resultFormats.length);
  for (const p of m.params) size += p === null ? 4 : 4 + p.length;
  const w = new MessageWriter(F.Bind, size).cstring(m.portal).cstring(m.statement).int16(m.paramFormats.length);
  for (const f of m.paramFormats) w.int16(f);
  w.int16(m.params.length);
  for (const p of m.params) w.lengthPrefixed(p);
  w.int16(m.resultFormats.length);
  for (const f of m.resultFormats) w.int16(f);
  return w.finish();
}

export function encodeDescribe(m: DescribeMessage): Buffer {
  return new MessageWriter(F.Describe, 16).byte(m.target.charCodeAt(0)).cstring(m.name).finish();
}

export function encodeClose(m: CloseMessage): Buffer {
  return new MessageWriter(F.Close, 16).byte(m.target.charCodeAt(0)).cstring(m.name).finish();
}

export function encodeExecute(m: ExecuteMessage): Buffer {
  return new MessageWriter(F.Execute, 16).cstring(m.portal).int32(m.maxRows).finish();
}

export function encodeSync(): Buffer {
  return new MessageWriter(F.Sync, 8).finish();
}

export function encodeFlush(): Buffer {
  return new MessageWriter(F.Flush, 8).finish();
}

export function encodeTerminate(): Buffer {
  return new MessageWriter(F.Terminate, 8).finish();
}

export function encodeCopyData(data: Uint8Array): Buffer {
  return new MessageWriter(F.CopyData, data.length + 8).bytes(data).finish();
}

export function encodeCopyDone(): Buffer {
  return new MessageWriter(F.CopyDone, 8).finish();
}

export function encodeCopyFail(message: string): Buffer {
  return new MessageWriter(F.CopyFail).cstring(message).finish();
}

/** PasswordMessage / SASLResponse: raw payload after the header. */
export function encodePasswordMessage(payload: Uint8Array): Buffer {
  return new MessageWriter(F.Password, payload.length + 8).bytes(payload).finish();
}
