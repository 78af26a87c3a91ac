// PostgreSQL type facts the encryption layer needs: the OID a protected column's plaintext type is shown
// with (policy `type:`), and conversions between the binary and text wire formats for those types, since
// values are encrypted in their text form (SPEC §4) while clients may bind or fetch them in binary.
import type { ValueType } from "../../../policy/policy-types.js";

export const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  json: 114,
  float4: 700,
  float8: 701,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

const VALUE_TYPE_OID: Record<ValueType, number> = {
  text: OID.text,
  integer: OID.int4,
  smallint: OID.int2,
  bigint: OID.int8,
  numeric: OID.numeric,
  decimal: OID.numeric,
  real: OID.float4,
  double: OID.float8,
  date: OID.date,
  time: OID.time,
  timestamp: OID.timestamp,
  timestamptz: OID.timestamptz,
  datetime: OID.timestamp,
  boolean: OID.bool,
  bytea: OID.bytea,
  blob: OID.bytea,
  json: OID.json,
  jsonb: OID.jsonb,
  uuid: OID.uuid,
};

const TYPLEN: Record<number, number> = {
  [OID.bool]: 1,
  [OID.int2]: 2,
  [OID.int4]: 4,
  [OID.int8]: 8,
  [OID.float4]: 4,
  [OID.float8]: 8,
  [OID.date]: 4,
  [OID.time]: 8,
  [OID.timestamp]: 8,
  [OID.timestamptz]: 8,
  [OID.uuid]: 16,
};

export function oidForValueType(t: ValueType | undefined): number {
  return VALUE_TYPE_OID[t ?? "text"] ?? OID.text;
}

export function typlenOf(oid: number): number {
  return TYPLEN[oid] ?? -1;
}

export class BinaryFormatError extends Error {
  override name = "BinaryFormatError";
}

const PG_EPOCH_DAYS = 10957; // 2000-01-01 - 1970-01-01 in days
const MS_PER_DAY = 86_400_000;

/** Binary wire value → text form, for the types in VALUE_TYPE_OID. */
export function binaryToText(oid: number, b: Buffer): Buffer {
  switch (oid) {
    case OID.text:
    case OID.varchar:
    case OID.bpchar:
    case OID.json:
    case OID.unknown:
      return b;
    case OID.jsonb:
      if (b[0] !== 1) throw new BinaryFormatError("jsonb binary version must be 1");
      return b.subarray(1);
    case OID.bool:
      return Buffer.from(b[0] ? "t" : "f");
    case OID.int2:
      return Buffer.from(String(b.readInt16BE(0)));
    case OID.int4:
      return Buffer.from(String(b.readInt32BE(0)));
    case OID.int8:
      return Buffer.from(b.readBigInt64BE(0).toString());
    case OID.float4:
      return Buffer.from(floatText(b.readFloatBE(0), true));
    case OID.float8:
      return Buffer.from(floatText(b.readDoubleBE(0), false));
    case OID.bytea:
      return Buffer.from(`\\x${b.toString("hex")}`, "latin1");
    case OID.uuid: {
      const h = b.toString("hex");
      return Buffer.from(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
    }
    case OID.date:
      return Buffer.from(dateText(b.readInt32BE(0)));
    case OID.timestamp:
      return Buffer.from(timestampText(b.readBigInt64BE(0)));
    case OID.numeric:
      return Buffer.from(numericBinaryToText(b));
    default:
      throw new BinaryFormatError(`binary format of type OID ${oid} is not supported on encrypted columns; use text`);
  }
}

/** Text form → binary wire value for a type shown to the client. */
export function textToBinary(oid: number, t: Buffer): Buffer {
  const s = () => t.toString("utf8");
  switch (oid) {
    case OID.text:
    case OID.varchar:
    case OID.bpchar:
    case OID.json:
    case OID.unknown:
      return t;
    case OID.jsonb:
      return Buffer.concat([Buffer.from([1]), t]);
    case OID.bool:
      return Buffer.from([s() === "t" || s() === "true" ? 1 : 0]);
    case OID.int2: {
      const o = Buffer.allocUnsafe(2);
      o.writeInt16BE(Number(s()));
      return o;
    }
    case OID.int4: {
      const o = Buffer.allocUnsafe(4);
      o.writeInt32BE(Number(s()));
      return o;
    }
    case OID.int8: {
      const o = Buffer.allocUnsafe(8);
      o.writeBigInt64BE(BigInt(s()));
      return o;
    }
    case OID.float4: {
      const o = Buffer.allocUnsafe(4);
      o.writeFloatBE(parseFloatText(s()));
      return o;
    }
    case OID.float8: {
      const o = Buffer.allocUnsafe(8);
      o.writeDoubleBE(parseFloatText(s()));
      return o;
    }
    case OID.bytea: {
      const v = s();
      if (!v.startsWith("\\x")) throw new BinaryFormatError("bytea text must be in hex format");
      return Buffer.from(v.slice(2), "hex");
    }
    case OID.uuid:
      return Buffer.from(s().replace(/-/g, ""), "hex");
    case OID.date: {
      const o = Buffer.allocUnsafe(4);
      o.writeInt32BE(parseDate(s()));
      return o;
    }
    case OID.timestamp: {
      const o = Buffer.allocUnsafe(8);
      o.writeBigInt64BE(parseTimestamp(s()));
      return o;
    }
    case OID.numeric:
      return numericTextToBinary(s());
    default:
      throw new BinaryFormatError(`binary format of type OID ${oid} is not supported on encrypted columns; use text`);
  }
}

function floatText(v: number, single: boolean): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "Infinity";
  if (v === Number.NEGATIVE_INFINITY) return "-Infinity";
  if (!single) return String(v);
  // shortest decimal that reads back as the same float4 (what PostgreSQL prints)
  for (let p = 1; p < 9; p++) {
    const c = Number(v.toPrecision(p));
    if (Math.fround(c) === v) return String(c);
  }
  return String(Number(v.toPrecision(9)));
}

function parseFloatText(s: string): number {
  if (s === "NaN") return Number.NaN;
  if (s === "Infinity") return Number.POSITIVE_INFINITY;
  if (s === "-Infinity") return Number.NEGATIVE_INFINITY;
  return Number(s);
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

function dateText(days: number): string {
  const d = new Date((days + PG_EPOCH_DAYS) * MS_PER_DAY);
  const y = d.getUTCFullYear();
  if (y < 1) throw new BinaryFormatError("BC dates are not supported in binary format on encrypted columns");
  return `${pad(y, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

function parseDate(s: string): number {
  const m = /^(\d{4,})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) throw new BinaryFormatError("date is not in ISO YYYY-MM-DD form (set DateStyle to ISO)");
  return utcMs(Number(m[1]), Number(m[2]), Number(m[3])) / MS_PER_DAY - PG_EPOCH_DAYS;
}

/** Date.UTC without its 0–99 → 1900–1999 year mapping. */
function utcMs(y: number, mo: number, d: number, h = 0, mi = 0, sec = 0): number {
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, sec, 0);
  return t.getTime();
}

function timestampText(us: bigint): string {
  const ms = Number(us / 1000n) + PG_EPOCH_DAYS * MS_PER_DAY;
  const frac = Number(((us % 1_000_000n) + 1_000_000n) % 1_000_000n);
  const d = new Date(ms - (ms % 1000 < 0 ? 1000 + (ms % 1000) : ms % 1000));
  const base = `${dateText(Math.floor(d.getTime() / MS_PER_DAY) - PG_EPOCH_DAYS)} ${pad(d.getUTCHours(), 2)}:${pad(
    d.getUTCMinutes(),
    2,
  )}:${pad(d.getUTCSeconds(), 2)}`;
  return frac ? `${base}.${pad(frac, 6).replace(/0+$/, "")}` : base;
}

function parseTimestamp(s: string): bigint {
  const m = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(s);
  if (!m) throw new BinaryFormatError("timestamp is not in ISO form (set DateStyle to ISO)");
  const ms = utcMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const frac = m[7] ? BigInt(m[7].padEnd(6, "0")) : 0n;
  return (BigInt(ms) - BigInt(PG_EPOCH_DAYS) * BigInt(MS_PER_DAY)) * 1000n + frac;
}

// numeric binary: ndigits(int16) weight(int16) sign(uint16) dscale(int16) digits(int16 base 10000)...
const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;

function numericBinaryToText(b: Buffer): string {
  const ndigits = b.readInt16BE(0);
  const weight = b.readInt16BE(2);
  const sign = b.readUInt16BE(4);
  const dscale = b.readInt16BE(6);
  if (sign === NUMERIC_NAN) return "NaN";
  if (sign === NUMERIC_PINF) return "Infinity";
  if (sign === NUMERIC_NINF) return "-Infinity";
  let intPart = "";
  for (let i = 0; i <= weight; i++) {
    const d = i < ndigits ? b.readInt16BE(8 + 2 * i) : 0;
    intPart += i === 0 ? String(d) : pad(d, 4);
  }
  if (intPart === "") intPart = "0";
  let frac = "";
  for (let i = weight + 1; frac.length < dscale; i++) {
    const d = i >= 0 && i < ndigits ? b.readInt16BE(8 + 2 * i) : 0;
    frac += pad(d, 4);
  }
  frac = frac.slice(0, dscale);
  const body = dscale > 0 ? `${intPart}.${frac}` : intPart;
  return sign === NUMERIC_NEG ? `-${body}` : body;
}

function numericTextToBinary(s: string): Buffer {
  const special: Record<string, number> = { NaN: NUMERIC_NAN, Infinity: NUMERIC_PINF, "-Infinity": NUMERIC_NINF };
  if (s in special) {
    const o = Buffer.alloc(8);
    o.writeUInt16BE(special[s], 4);
    return o;
  }
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) throw new BinaryFormatError("numeric text is malformed");
  const neg = m[1] === "-";
  const intDigits = m[2].replace(/^0+/, "");
  const fracDigits = m[3] ?? "";
  const dscale = fracDigits.length;
  const intPadded = intDigits.padStart(Math.ceil(intDigits.length / 4) * 4, "0");
  const fracPadded = fracDigits.padEnd(Math.ceil(fracDigits.length / 4) * 4, "0");
  const groups: number[] = [];
  for (let i = 0; i < intPadded.length; i += 4) groups.push(Number(intPadded.slice(i, i + 4)));
  let weight = groups.length - 1;
  for (let i = 0; i < fracPadded.length; i += 4) groups.push(Number(fracPadded.slice(i, i + 4)));
  while (groups.length > 0 && groups[0] === 0) {
    groups.shift();
    weight--;
  }
  while (groups.length > 0 && groups[groups.length - 1] === 0) groups.pop();
  if (groups.length === 0) weight = 0;
  const o = Buffer.alloc(8 + 2 * groups.length);
  o.writeInt16BE(groups.length, 0);
  o.writeInt16BE(weight, 2);
  o.writeUInt16BE(neg && groups.length > 0 ? NUMERIC_NEG : 0, 4);
  o.writeInt16BE(dscale, 6);
  for (let i = 0; i < groups.length; i++) o.writeInt16BE(groups[i], 8 + 2 * i);
  return o;
}
