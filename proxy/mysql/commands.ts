// Client command payloads the gateway must look into: COM_QUERY with query attributes (CLIENT_QUERY_ATTRIBUTES,
// MySQL 8.0.23+ clients), COM_STMT_EXECUTE (parameter types per statement, values in text form for hooks) and
// the re-encoding of both when a hook rewrites them. Payload offsets include the command byte.
import { readBinaryValueAsText, skipBinaryValue, writeBinaryValueFromText } from "./binary-values.js";
import { Com, MAX_PACKET_PAYLOAD } from "./constants.js";
import type { ExecuteParams } from "./hooks.js";
import { framePacket } from "./packets.js";
import type { ParamType, PreparedStatement } from "./session-context.js";
import { MalformedPacketError, PayloadReader, PayloadWriter } from "./wire.js";

/** Offset of the SQL text in a COM_QUERY payload (skips query attributes when negotiated). */
export function querySqlOffset(buf: Buffer, start: number, len: number, queryAttributes: boolean): number {
  if (!queryAttributes) return start + 1;
  const r = new PayloadReader(buf, start + 1, start + len);
  const count = r.lenenc("query attribute count");
  r.lenenc("query attribute set count");
  if (count > 0) {
    const bitmap = r.bytes((count + 7) >> 3, "query attribute NULL bitmap");
    if (r.u8("new params bind flag") !== 1) throw new MalformedPacketError("query attributes without types");
    const types: number[] = [];
    for (let i = 0; i < count; i++) {
      types.push(r.u16("query attribute type") & 0xff);
      r.lenencBytes("query attribute name");
    }
    for (let i = 0; i < count; i++) {
      if (bitmap[i >> 3] & (1 << (i & 7))) continue;
      skipBinaryValue(r, types[i]);
    }
  }
  return r.pos;
}

const PARAMETER_COUNT_AVAILABLE = 0x08;

export interface ParsedExecute {
  stmtId: number;
  flags: number;
  iterations: number;
  /** Parameters in the packet (statement params, plus query attributes when negotiated). */
  paramCount: number;
  newParamsBound: boolean;
  types: ParamType[] | undefined;
  names: Buffer[] | undefined;
  values?: (Buffer | null | undefined)[];
}

/**
 * Parse COM_STMT_EXECUTE. Parameter types come from the packet (new-params-bound = 1) or the statement's last
 * bound types. Values are converted to text form only when `withValues` (hooks need them).
 */
export function parseExecute(
  buf: Buffer,
  start: number,
  len: number,
  stmt: PreparedStatement | undefined,
  queryAttributes: boolean,
  withValues: boolean,
): ParsedExecute {
  const r = new PayloadReader(buf, start + 1, start + len);
  const stmtId = r.u32("statement id");
  const flags = r.u8("cursor flags");
  const iterations = r.u32("iteration count");
  let paramCount = stmt?.paramCount ?? 0;
  if (queryAttributes && (paramCount > 0 || flags & PARAMETER_COUNT_AVAILABLE)) {
    paramCount = r.lenenc("parameter count");
  }
  const out: ParsedExecute = {
    stmtId,
    flags,
    iterations,
    paramCount,
    newParamsBound: false,
    types: stmt?.paramTypes,
    names: undefined,
  };
  if (paramCount === 0 || (!stmt && !queryAttributes)) return out;
  const bitmap = r.bytes((paramCount + 7) >> 3, "parameter NULL bitmap");
  out.newParamsBound = r.u8("new params bound flag") === 1;
  if (out.newParamsBound) {
    const types: ParamType[] = [];
    const names: Buffer[] = [];
    for (let i = 0; i < paramCount; i++) {
      const t = r.u16("parameter type");
      types.push({ type: t & 0xff, unsigned: (t & 0x8000) !== 0 });
      if (queryAttributes) names.push(r.lenencBytes("parameter name") ?? Buffer.alloc(0));
    }
    out.types = types;
    out.names = queryAttributes ? names : undefined;
  }
  if (!withValues) return out;
  if (!out.types || out.types.length < paramCount) {
    throw new MalformedPacketError("COM_STMT_EXECUTE without parameter types for a statement never bound");
  }
  const values: (Buffer | null | undefined)[] = new Array(paramCount);
  for (let i = 0; i < paramCount; i++) {
    if (bitmap[i >> 3] & (1 << (i & 7))) values[i] = null;
    else if (stmt?.longData.has(i)) values[i] = undefined;
    else {
      const t = out.types[i];
      const v = readBinaryValueAsText(r, t.type, t.unsigned);
      // a string value is a view of the packet: hooks get their own copy (numbers are converted into new memory)
      values[i] = v.buffer === buf.buffer ? Buffer.from(v) : v;
    }
  }
  out.values = values;
  return out;
}

/** Re-encode COM_STMT_EXECUTE with new parameter types and text-form values (new-params-bound = 1). */
export function buildExecute(parsed: ParsedExecute, params: ExecuteParams, queryAttributes: boolean): Buffer {
  return writeExecute(parsed, params, queryAttributes, 0).finish();
}

/** buildExecute framed as packet(s) from sequence id 0, written into one presized buffer (no copy to frame it). */
export function buildExecutePacket(
  parsed: ParsedExecute,
  params: ExecuteParams,
  queryAttributes: boolean,
): { bytes: Buffer; nextSeq: number } {
  const framed = writeExecute(parsed, params, queryAttributes, 4).finish();
  const len = framed.length - 4;
  if (len >= MAX_PACKET_PAYLOAD) return framePacket(framed.subarray(4), 0);
  framed[0] = len & 0xff;
  framed[1] = (len >> 8) & 0xff;
  framed[2] = len >> 16;
  framed[3] = 0;
  return { bytes: framed, nextSeq: 1 };
}

/** The payload after `reserve` zero bytes, in a writer sized for it up front. */
function writeExecute(
  parsed: ParsedExecute,
  params: ExecuteParams,
  queryAttributes: boolean,
  reserve: number,
): PayloadWriter {
  const n = params.values.length;
  let size = reserve + 24 + ((n + 7) >> 3) + n * 2;
  for (let i = 0; i < n; i++) {
    const v = params.values[i];
    if (v) size += v.length + 9;
    if (queryAttributes) size += (parsed.names?.[i]?.length ?? 0) + 9;
  }
  const w = new PayloadWriter(size);
  if (reserve > 0) w.zeros(reserve);
  w.u8(Com.STMT_EXECUTE).u32(parsed.stmtId).u8(parsed.flags).u32(parsed.iterations);
  if (queryAttributes && (n > 0 || parsed.flags & PARAMETER_COUNT_AVAILABLE)) w.lenenc(n);
  if (n === 0) return w;
  const bitmapAt = w.length;
  w.zeros((n + 7) >> 3);
  w.u8(1);
  for (let i = 0; i < n; i++) {
    const t = params.types[i];
    w.u16(t.type | (t.unsigned ? 0x8000 : 0));
    if (queryAttributes) w.lenencBytes(parsed.names?.[i] ?? Buffer.alloc(0));
  }
  for (let i = 0; i < n; i++) {
    const v = params.values[i];
    if (v === null) w.orAt(bitmapAt + (i >> 3), 1 << (i & 7));
    else if (v !== undefined) writeBinaryValueFromText(w, params.types[i].type, params.types[i].unsigned, v);
  }
  return w;
}

/** True when the SQL text at `off` starts with the KILL keyword (no allocation). */
export function startsWithKill(buf: Buffer, off: number, end: number): boolean {
  let i = off;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === 0x0a || buf[i] === 0x0d)) i++;
  if (end - i < 5) return false;
  return (
    (buf[i] | 0x20) === 0x6b &&
    (buf[i + 1] | 0x20) === 0x69 &&
    (buf[i + 2] | 0x20) === 0x6c &&
    (buf[i + 3] | 0x20) === 0x6c &&
    (buf[i + 4] === 0x20 || buf[i + 4] === 0x09 || buf[i + 4] === 0x0a || buf[i + 4] === 0x0d)
  );
}
