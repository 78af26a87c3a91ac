// Binary-protocol values (COM_STMT_EXECUTE parameters and binary resultset rows) converted to and from their
// "text form" — the bytes the text protocol would carry for the same value — so hooks see one representation
// whatever protocol the client uses. Integers, floats, DATE/DATETIME/TIMESTAMP and TIME have fixed binary
// encodings; every other type is a length-encoded byte string in both protocols.
import { ColType } from "./constants.js";
import { MalformedPacketError, type PayloadReader, type PayloadWriter } from "./wire.js";

const pad = (n: number, w: number): string => String(n).padStart(w, "0");

function fraction(micro: number, decimals: number): string {
  const digits = decimals > 0 && decimals <= 6 ? decimals : micro !== 0 ? 6 : 0;
  return digits === 0 ? "" : "." + pad(micro, 6).slice(0, digits);
}

/** Skip one binary value (used to locate values without converting them). */
export function skipBinaryValue(r: PayloadReader, type: number): void {
  switch (type) {
    case ColType.TINY:
      r.skip(1, "TINY value");
      return;
    case ColType.SHORT:
    case ColType.YEAR:
      r.skip(2, "SHORT value");
      return;
    case ColType.LONG:
    case ColType.INT24:
    case ColType.FLOAT:
      r.skip(4, "LONG/FLOAT value");
      return;
    case ColType.LONGLONG:
    case ColType.DOUBLE:
      r.skip(8, "LONGLONG/DOUBLE value");
      return;
    case ColType.NULL:
      return;
    case ColType.DATE:
    case ColType.DATETIME:
    case ColType.TIMESTAMP:
    case ColType.TIME:
      r.skip(r.u8("temporal value length"), "temporal value");
      return;
    default: {
      const n = r.lenenc("string value length");
      if (n < 0) throw new MalformedPacketError("NULL marker inside a binary value");
      r.skip(n, "string value");
    }
  }
}

export function readBinaryValueAsText(r: PayloadReader, type: number, unsigned: boolean, decimals = 0): Buffer {
  switch (type) {
    case ColType.TINY: {
      const v = r.u8("TINY value");
      return Buffer.from(String(unsigned ? v : (v << 24) >> 24));
    }
    case ColType.SHORT:
    case ColType.YEAR: {
      const v = r.u16("SHORT value");
      return Buffer.from(String(unsigned || type === ColType.YEAR ? v : (v << 16) >> 16));
    }
    case ColType.LONG:
    case ColType.INT24: {
      const v = r.u32("LONG value");
      return Buffer.from(String(unsigned ? v : v | 0));
    }
    case ColType.LONGLONG: {
      const v = r.u64("LONGLONG value");
      return Buffer.from((unsigned ? v : BigInt.asIntN(64, v)).toString());
    }
    case ColType.FLOAT: {
      const v = r.bytes(4, "FLOAT value").readFloatLE(0);
      return Buffer.from(String(Number(v.toPrecision(7))));
    }
    case ColType.DOUBLE:
      return Buffer.from(String(r.bytes(8, "DOUBLE value").readDoubleLE(0)));
    case ColType.NULL:
      return Buffer.alloc(0);
    case ColType.DATE:
    case ColType.DATETIME:
    case ColType.TIMESTAMP: {
      const n = r.u8("datetime length");
      let y = 0;
      let mo = 0;
      let d = 0;
      let h = 0;
      let mi = 0;
      let s = 0;
      let us = 0;
      if (n >= 4) {
        y = r.u16();
        mo = r.u8();
        d = r.u8();
      }
      if (n >= 7) {
        h = r.u8();
        mi = r.u8();
        s = r.u8();
      }
      if (n >= 11) us = r.u32();
      if (n !== 0 && n !== 4 && n !== 7 && n !== 11) throw new MalformedPacketError(`bad datetime length ${n}`);
      const date = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}`;
      if (type === ColType.DATE) return Buffer.from(date);
      return Buffer.from(`${date} ${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${fraction(us, decimals)}`);
    }
    case ColType.TIME: {
      const n = r.u8("time length");
      if (n !== 0 && n !== 8 && n !== 12) throw new MalformedPacketError(`bad time length ${n}`);
      if (n === 0) return Buffer.from("00:00:00");
      const neg = r.u8();
      const days = r.u32();
      const h = r.u8();
      const mi = r.u8();
      const s = r.u8();
      const us = n === 12 ? r.u32() : 0;
      return Buffer.from(
        `${neg ? "-" : ""}${pad(days * 24 + h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${fraction(us, decimals)}`,
      );
    }
    default: {
      const b = r.lenencBytes("string value");
      if (b === null) throw new MalformedPacketError("NULL marker inside a binary value");
      return b;
    }
  }
}

const DATETIME_RE = /^(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,6}))?)?$/;
const TIME_RE = /^(-)?(\d+):(\d{1,2}):(\d{1,2})(?:\.(\d{1,6}))?$/;

function micros(frac: string | undefined): number {
  return frac ? Number(frac.padEnd(6, "0")) : 0;
}

export class ValueEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValueEncodingError";
  }
}

const INT_RE = /^[+-]?\d+$/;
const INT_RANGE: Record<number, [bigint, bigint, bigint]> = {
  // type: [signed min, signed max, unsigned max]
  [ColType.TINY]: [-128n, 127n, 255n],
  [ColType.SHORT]: [-32768n, 32767n, 65535n],
  [ColType.YEAR]: [0n, 65535n, 65535n],
  [ColType.INT24]: [-2147483648n, 2147483647n, 4294967295n],
  [ColType.LONG]: [-2147483648n, 2147483647n, 4294967295n],
  [ColType.LONGLONG]: [-9223372036854775808n, 9223372036854775807n, 18446744073709551615n],
};

/** The integer a text-form value holds, checked against the type's range (never a silent wrap or NaN). */
function integerOf(text: string, type: number, unsigned: boolean): bigint {
  if (!INT_RE.test(text)) throw new ValueEncodingError("value is not an integer");
  const v = BigInt(text);
  const [min, max, umax] = INT_RANGE[type];
  if (unsigned ? v < 0n || v > umax : v < min || v > max) throw new ValueEncodingError("integer out of range");
  return v;
}

function floatOf(text: string): number {
  const v = Number(text);
  if (text === "" || !Number.isFinite(v)) throw new ValueEncodingError("value is not a finite number");
  return v;
}

/**
 * The integer of a text form that is only an optional sign and 1-15 digits (exact as a double), checked
 * against the type's range like integerOf; undefined for any other text (integerOf then decides).
 */
function smallIntegerOf(text: Buffer, type: number, unsigned: boolean): number | undefined {
  const n = text.length;
  let i = 0;
  let neg = false;
  if (n > 0 && (text[0] === 0x2d || text[0] === 0x2b)) {
    neg = text[0] === 0x2d;
    i = 1;
  }
  if (n - i < 1 || n - i > 15) return undefined;
  let v = 0;
  for (; i < n; i++) {
    const d = text[i] - 0x30;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  if (neg) v = -v;
  const [min, max, umax] = INT_RANGE_NUM[type];
  if (unsigned ? v < 0 || v > umax : v < min || v > max) throw new ValueEncodingError("integer out of range");
  return v;
}

/** INT_RANGE as doubles (LONGLONG bounds are beyond 15 digits, so never reached by smallIntegerOf's values). */
const INT_RANGE_NUM: Record<number, [number, number, number]> = Object.fromEntries(
  Object.entries(INT_RANGE).map(([k, [a, b, c]]) => [k, [Number(a), Number(b), Number(c)]]),
);

/** Encode a text-form value for the binary protocol as `type`. Throws ValueEncodingError when it does not fit. */
export function writeBinaryValueFromText(w: PayloadWriter, type: number, unsigned: boolean, text: Buffer): void {
  const s = (): string => text.toString("latin1").trim();
  switch (type) {
    case ColType.TINY:
    case ColType.SHORT:
    case ColType.YEAR:
    case ColType.LONG:
    case ColType.INT24:
    case ColType.LONGLONG: {
      const v = smallIntegerOf(text, type, unsigned);
      if (v === undefined) break;
      if (type === ColType.TINY) w.u8(v);
      else if (type === ColType.SHORT || type === ColType.YEAR) w.u16(v);
      else if (type === ColType.LONGLONG) w.u64(BigInt.asUintN(64, BigInt(v)));
      else w.u32(v);
      return;
    }
  }
  switch (type) {
    case ColType.TINY:
      w.u8(Number(BigInt.asUintN(8, integerOf(s(), type, unsigned))));
      return;
    case ColType.SHORT:
    case ColType.YEAR:
      w.u16(Number(BigInt.asUintN(16, integerOf(s(), type, unsigned))));
      return;
    case ColType.LONG:
    case ColType.INT24:
      w.u32(Number(BigInt.asUintN(32, integerOf(s(), type, unsigned))));
      return;
    case ColType.LONGLONG:
      w.u64(BigInt.asUintN(64, integerOf(s(), type, unsigned)));
      return;
    case ColType.FLOAT: {
      const b = Buffer.allocUnsafe(4);
      b.writeFloatLE(floatOf(s()), 0);
      w.bytes(b);
      return;
    }
    case ColType.DOUBLE: {
      const b = Buffer.allocUnsafe(8);
      b.writeDoubleLE(floatOf(s()), 0);
      w.bytes(b);
      return;
    }
    case ColType.NULL:
      return;
    case ColType.DATE:
    case ColType.DATETIME:
    case ColType.TIMESTAMP: {
      const m = DATETIME_RE.exec(s());
      if (!m) throw new ValueEncodingError("value is not a date/time in YYYY-MM-DD[ HH:MM:SS[.ffffff]] form");
      const us = micros(m[7]);
      const hasTime = m[4] !== undefined && (Number(m[4]) || Number(m[5]) || Number(m[6]) || us);
      w.u8(us ? 11 : hasTime ? 7 : 4)
        .u16(Number(m[1]))
        .u8(Number(m[2]))
        .u8(Number(m[3]));
      if (hasTime || us) w.u8(Number(m[4])).u8(Number(m[5])).u8(Number(m[6]));
      if (us) w.u32(us);
      return;
    }
    case ColType.TIME: {
      const m = TIME_RE.exec(s());
      if (!m) throw new ValueEncodingError("value is not a time in [-]HH:MM:SS[.ffffff] form");
      const hours = Number(m[2]);
      const us = micros(m[5]);
      w.u8(us ? 12 : 8)
        .u8(m[1] ? 1 : 0)
        .u32(Math.floor(hours / 24))
        .u8(hours % 24)
        .u8(Number(m[3]))
        .u8(Number(m[4]));
      if (us) w.u32(us);
      return;
    }
    default:
      w.lenencBytes(text);
  }
}
