// Typed decoders and encoders for backend (server → client) messages. Decoders take (buf, start, end)
// with the header included, return views for binary fields and throw PgProtocolError on malformed input.
import { PgProtocolError } from "./errors.js";
import { AUTH, B } from "./message-types.js";
import { MessageReader } from "./reader.js";
import { MessageWriter } from "./writer.js";

export interface FieldDescription {
  name: string;
  tableOid: number;
  columnAttr: number;
  typeOid: number;
  typeSize: number;
  typeModifier: number;
  /** 0 text, 1 binary */
  format: number;
}

/** ErrorResponse / NoticeResponse fields keyed by their one-letter code (S, V, C, M, D, H, P, ...). */
export type ErrorFields = Record<string, string>;

export interface CopyResponse {
  /** 0 text, 1 binary */
  format: number;
  columnFormats: number[];
}

export interface Notification {
  pid: number;
  channel: string;
  payload: string;
}

function reader(buf: Buffer, start: number, end: number, what: string): MessageReader {
  return new MessageReader(buf, start + 5, end, what);
}

export function decodeAuthentication(buf: Buffer, start: number, end: number): { code: number; body: Buffer } {
  const r = reader(buf, start, end, "Authentication");
  const code = r.int32();
  return { code, body: r.bytes(r.remaining) };
}

/**
 * The mechanism list of AuthenticationSASL, or null when the body is not a well-formed list of printable
 * names (other products reuse code 10 for other methods — e.g. openGauss SHA256 — and must be relayed as-is).
 */
export function decodeSaslMechanisms(body: Buffer): string[] | null {
  const out: string[] = [];
  let pos = 0;
  for (;;) {
    const nul = body.indexOf(0, pos);
    if (nul < 0) return null;
    if (nul === pos) return pos === body.length - 1 && out.length > 0 ? out : null;
    for (let i = pos; i < nul; i++) if (body[i] < 0x21 || body[i] > 0x7e) return null;
    out.push(body.toString("latin1", pos, nul));
    pos = nul + 1;
  }
}

export function encodeAuthentication(code: number, body?: Uint8Array): Buffer {
  const w = new MessageWriter(B.Authentication, 16 + (body?.length ?? 0)).int32(code);
  if (body) w.bytes(body);
  return w.finish();
}

export function encodeAuthenticationSASL(mechanisms: string[]): Buffer {
  const w = new MessageWriter(B.Authentication).int32(AUTH.SASL);
  for (const m of mechanisms) w.cstring(m);
  return w.byte(0).finish();
}

export function decodeBackendKeyData(buf: Buffer, start: number, end: number): { pid: number; secret: number } {
  const r = reader(buf, start, end, "BackendKeyData");
  const pid = r.int32();
  const secret = r.int32();
  r.done();
  return { pid, secret };
}

export function encodeBackendKeyData(pid: number, secret: number): Buffer {
  return new MessageWriter(B.BackendKeyData, 16).int32(pid).int32(secret).finish();
}

export function decodeParameterStatus(buf: Buffer, start: number, end: number): { name: string; value: string } {
  const r = reader(buf, start, end, "ParameterStatus");
  const name = r.cstring();
  const value = r.cstring();
  r.done();
  return { name, value };
}

export function encodeParameterStatus(name: string, value: string): Buffer {
  return new MessageWriter(B.ParameterStatus).cstring(name).cstring(value).finish();
}

/** Transaction status byte: 'I' idle, 'T' in transaction, 'E' failed transaction. */
export function decodeReadyForQuery(buf: Buffer, start: number, end: number): "I" | "T" | "E" {
  if (end - start !== 6) throw new PgProtocolError("invalid ReadyForQuery length");
  const s = buf[start + 5];
  if (s === 0x49) return "I";
  if (s === 0x54) return "T";
  if (s === 0x45) return "E";
  throw new PgProtocolError(`invalid transaction status ${s} in ReadyForQuery`);
}

export function encodeReadyForQuery(status: "I" | "T" | "E"): Buffer {
  return new MessageWriter(B.ReadyForQuery, 8).byte(status.charCodeAt(0)).finish();
}

export function decodeRowDescription(buf: Buffer, start: number, end: number): FieldDescription[] {
  const r = reader(buf, start, end, "RowDescription");
  const n = r.int16();
  if (n < 0) throw new PgProtocolError("negative field count in RowDescription");
  const fields = new Array<FieldDescription>(n);
  for (let i = 0; i < n; i++) {
    fields[i] = {
      name: r.cstring(),
      tableOid: r.uint32(),
      columnAttr: r.int16(),
      typeOid: r.uint32(),
      typeSize: r.int16(),
      typeModifier: r.int32(),
      format: r.int16(),
    };
  }
  r.done();
  return fields;
}

export function encodeRowDescription(fields: FieldDescription[]): Buffer {
  const w = new MessageWriter(B.RowDescription, 32 + fields.length * 32).int16(fields.length);
  for (const f of fields) {
    w.cstring(f.name).uint32(f.tableOid).int16(f.columnAttr).uint32(f.typeOid).int16(f.typeSize);
    w.int32(f.typeModifier).int16(f.format);
  }
  return w.finish();
}

export function decodeParameterDescription(buf: Buffer, start: number, end: number): number[] {
  const r = reader(buf, start, end, "ParameterDescription");
  const n = r.int16();
  if (n < 0) throw new PgProtocolError("negative parameter count in ParameterDescription");
  const types = new Array<number>(n);
  for (let i = 0; i < n; i++) types[i] = r.uint32();
  r.done();
  return types;
}

export function encodeParameterDescription(types: number[]): Buffer {
  const w = new MessageWriter(B.ParameterDescription, 8 + types.length * 4).int16(types.length);
  for (const t of types) w.uint32(t);
  return w.finish();
}

/** Column values of a DataRow as views (null = SQL NULL). */
export function decodeDataRow(buf: Buffer, start: number, end: number): (Buffer | null)[] {
  const r = reader(buf, start, end, "DataRow");
  const n = r.int16();
  if (n < 0) throw new PgProtocolError("negative column count in DataRow");
  const values = new Array<Buffer | null>(n);
  for (let i = 0; i < n; i++) values[i] = r.lengthPrefixed();
  r.done();
  return values;
}

export function encodeDataRow(values: (Uint8Array | null)[]): Buffer {
  let size = 7;
  for (const v of values) size += 4 + (v ? v.length : 0);
  const w = new MessageWriter(B.DataRow, size).int16(values.length);
  for (const v of values) w.lengthPrefixed(v);
  return w.finish();
}

export function decodeCommandComplete(buf: Buffer, start: number, end: number): string {
  const r = reader(buf, start, end, "CommandComplete");
  const tag = r.cstring();
  r.done();
  return tag;
}

export function encodeCommandComplete(tag: string): Buffer {
  return new MessageWriter(B.CommandComplete, 32).cstring(tag).finish();
}

export function decodeErrorFields(buf: Buffer, start: number, end: number): ErrorFields {
  const r = reader(buf, start, end, "ErrorResponse");
  const fields: ErrorFields = {};
  for (;;) {
    const code = r.byte();
    if (code === 0) break;
    fields[String.fromCharCode(code)] = r.cstring();
  }
  r.done();
  return fields;
}

function encodeFields(type: number, fields: ErrorFields): Buffer {
  const w = new MessageWriter(type);
  for (const [k, v] of Object.entries(fields)) w.byte(k.charCodeAt(0)).cstring(v);
  return w.byte(0).finish();
}

/** ErrorResponse with severity S and V, SQLSTATE C and message M (plus optional extra fields). */
export function encodeErrorResponse(
  severity: "ERROR" | "FATAL" | "PANIC",
  sqlstate: string,
  message: string,
  extra: ErrorFields = {},
): Buffer {
  return encodeFields(B.ErrorResponse, { S: severity, V: severity, C: sqlstate, M: message, ...extra });
}

export function encodeErrorFields(fields: ErrorFields): Buffer {
  return encodeFields(B.ErrorResponse, fields);
}

export function encodeNoticeResponse(fields: ErrorFields): Buffer {
  return encodeFields(B.NoticeResponse, fields);
}

export function decodeCopyResponse(buf: Buffer, start: number, end: number): CopyResponse {
  const r = reader(buf, start, end, "CopyResponse");
  const format = r.byte();
  const n = r.int16();
  if (n < 0) throw new PgProtocolError("negative column count in CopyResponse");
  const columnFormats = new Array<number>(n);
  for (let i = 0; i < n; i++) columnFormats[i] = r.int16();
  r.done();
  return { format, columnFormats };
}

/** type: B.CopyInResponse, B.CopyOutResponse or B.CopyBothResponse. */
export function encodeCopyResponse(type: number, c: CopyResponse): Buffer {
  const w = new MessageWriter(type, 16 + c.columnFormats.length * 2).byte(c.format).int16(c.columnFormats.length);
  for (const f of c.columnFormats) w.int16(f);
  return w.finish();
}

export function decodeNotification(buf: Buffer, start: number, end: number): Notification {
  const r = reader(buf, start, end, "NotificationResponse");
  const pid = r.int32();
  const channel = r.cstring();
  const payload = r.cstring();
  r.done();
  return { pid, channel, payload };
}

export function encodeNotification(n: Notification): Buffer {
  return new MessageWriter(B.NotificationResponse).int32(n.pid).cstring(n.channel).cstring(n.payload).finish();
}

/** Messages with no body: ParseComplete, BindComplete, CloseComplete, NoData, PortalSuspended, EmptyQueryResponse, CopyDone. */
export function encodeEmpty(type: number): Buffer {
  return new MessageWriter(type, 8).finish();
}
