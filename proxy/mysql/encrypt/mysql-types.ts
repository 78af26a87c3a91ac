// MySQL/MariaDB type facts the encryption layer needs: the column definition shown to the client for a
// decrypted column (the policy's plaintext `type`), for a masked column (text), how values are stored per
// catalog column type (binary columns hold raw envelopes / companions, text columns smg1: text / base64url,
// as `smgate migrate` writes them), and the server's canonical text form of integer / decimal / temporal
// values (so a MAC or an encrypted value is computed over what the server would store and return).
import type { ValueType } from "../../../policy/policy-types.js";
import type { StoredForm } from "../../codec/stored-form.js";
import type { ColumnDefinition } from "../column-definition.js";
import { ColFlag, ColType } from "../constants.js";

const BINARY_CHARSET = 63;
/** utf8mb4_general_ci: the charset of text shown when the server column was binary. */
const UTF8MB4 = 45;
const NUM_FLAG = 0x8000;
const BLOB_FLAG = 0x0010;
/** "no fixed number of decimals" (MySQL NOT_FIXED_DEC). */
const NOT_FIXED_DEC = 31;

const BINARY_TYPES = new Set(["binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"]);

/** Base data type of an information_schema COLUMN_TYPE ("varchar(200)" → "varchar", "int(11) unsigned" → "int"). */
export function baseType(columnType: string | undefined): string {
  return (columnType ?? "").toLowerCase().replace(/[\s(].*$/, "");
}

export function isBinaryColumnType(columnType: string | undefined): boolean {
  return BINARY_TYPES.has(baseType(columnType));
}

/** How an envelope or companion value is stored in a column of this catalog type (docs/MIGRATE.md). */
export function storedFormOf(columnType: string | undefined): StoredForm {
  return isBinaryColumnType(columnType) ? "raw" : "text";
}

function isStringType(type: number): boolean {
  return (
    type === ColType.VARCHAR ||
    type === ColType.VAR_STRING ||
    type === ColType.STRING ||
    type === ColType.TINY_BLOB ||
    type === ColType.MEDIUM_BLOB ||
    type === ColType.LONG_BLOB ||
    type === ColType.BLOB ||
    type === ColType.JSON
  );
}

/** Text shown with the session's character set (or utf8mb4 when the server column was binary). */
function asText(c: ColumnDefinition, clientCharset: number): ColumnDefinition {
  if (isStringType(c.type) && c.charset !== BINARY_CHARSET) return c;
  return {
    ...c,
    type: isStringType(c.type) && c.type !== ColType.VARCHAR ? c.type : ColType.VAR_STRING,
    charset: clientCharset || UTF8MB4,
    flags: c.flags & ~(ColFlag.BINARY | ColFlag.UNSIGNED | NUM_FLAG),
    decimals: 0,
    extended: undefined,
  };
}

function numeric(c: ColumnDefinition, type: number, length: number, decimals: number): ColumnDefinition {
  return {
    ...c,
    type,
    length,
    decimals,
    charset: BINARY_CHARSET,
    flags: (c.flags & ColFlag.NOT_NULL) | ColFlag.BINARY | NUM_FLAG,
    extended: undefined,
  };
}

function temporal(c: ColumnDefinition, type: number, length: number): ColumnDefinition {
  return {
    ...c,
    type,
    length,
    decimals: 0,
    charset: BINARY_CHARSET,
    flags: (c.flags & ColFlag.NOT_NULL) | ColFlag.BINARY,
    extended: undefined,
  };
}

/** The definition shown for a decrypted column: the stored column's names with the plaintext type. */
export function plaintextDefinition(c: ColumnDefinition, type: ValueType, clientCharset: number): ColumnDefinition {
  switch (type) {
    case "integer":
      return numeric(c, ColType.LONG, 11, 0);
    case "smallint":
      return numeric(c, ColType.SHORT, 6, 0);
    case "bigint":
      return numeric(c, ColType.LONGLONG, 20, 0);
    case "numeric":
    case "decimal":
      return numeric(c, ColType.NEWDECIMAL, 67, NOT_FIXED_DEC);
    case "real":
      return numeric(c, ColType.FLOAT, 12, NOT_FIXED_DEC);
    case "double":
      return numeric(c, ColType.DOUBLE, 22, NOT_FIXED_DEC);
    case "boolean":
      return numeric(c, ColType.TINY, 1, 0);
    case "date":
      return temporal(c, ColType.DATE, 10);
    case "time":
      return temporal(c, ColType.TIME, 10);
    case "datetime":
    case "timestamp":
    case "timestamptz":
      return temporal(c, ColType.DATETIME, 19);
    case "bytea":
    case "blob":
      return {
        ...c,
        type: ColType.BLOB,
        charset: BINARY_CHARSET,
        flags: (c.flags & ColFlag.NOT_NULL) | ColFlag.BINARY | BLOB_FLAG,
        decimals: 0,
        extended: undefined,
      };
    default:
      return asText(c, clientCharset);
  }
}

/** The definition shown for a masked column: text. */
export function maskedDefinition(c: ColumnDefinition, clientCharset: number): ColumnDefinition {
  return asText({ ...c, type: isStringType(c.type) ? c.type : ColType.VAR_STRING }, clientCharset);
}

/** Binary-protocol parameter type carrying a value of this plaintext type as the client would bind it. */
export function paramTypeOf(type: ValueType | undefined): number {
  switch (type) {
    case "bytea":
    case "blob":
      return ColType.BLOB;
    default:
      return ColType.VAR_STRING;
  }
}

const pad = (s: string, w: number) => s.padStart(w, "0");
const INT_RE = /^\s*([+-]?)0*(\d+)\s*$/;
const DEC_RE = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/;
const DATE_RE = /^\s*(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,6}))?)?\s*$/;

function canonicalInteger(s: string): string | undefined {
  const m = INT_RE.exec(s);
  if (!m) return undefined;
  return m[2] === "0" ? "0" : `${m[1] === "-" ? "-" : ""}${m[2]}`;
}

function canonicalDecimal(s: string, scale: number): string | undefined {
  const m = DEC_RE.exec(s);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return undefined;
  const frac = m[3] ?? "";
  if (frac.length > scale) return undefined; // the server would round: leave the value as sent
  const int = m[2].replace(/^0+(?=\d)/, "") || "0";
  const digits = scale > 0 ? `${int}.${frac.padEnd(scale, "0")}` : int;
  const zero = /^[0.]*$/.test(digits);
  return `${m[1] === "-" && !zero ? "-" : ""}${digits}`;
}

function canonicalTemporal(s: string, kind: "date" | "datetime", fsp: number): string | undefined {
  const m = DATE_RE.exec(s);
  if (!m) return undefined;
  const date = `${pad(m[1], 4)}-${pad(m[2], 2)}-${pad(m[3], 2)}`;
  if (kind === "date") {
    if (m[4] !== undefined && (Number(m[4]) || Number(m[5]) || Number(m[6]) || Number(m[7] ?? 0))) return undefined;
    return date;
  }
  const frac = (m[7] ?? "").padEnd(fsp, "0");
  if ((m[7] ?? "").length > fsp && Number((m[7] ?? "").slice(fsp)) !== 0) return undefined;
  const time = `${pad(m[4] ?? "0", 2)}:${pad(m[5] ?? "0", 2)}:${pad(m[6] ?? "0", 2)}`;
  return `${date} ${time}${fsp > 0 ? `.${frac.slice(0, fsp)}` : ""}`;
}

/**
 * The text form the server returns for `value` stored in a column of catalog type `columnType` (e.g.
 * "decimal(10,2)": "12.3" → "12.30"; "int": "007" → "7"; "date": "2024-1-2" → "2024-01-02"). Values that do
 * not parse, or that the server would round, are returned unchanged.
 */
export function serverTextForm(columnType: string | undefined, value: Buffer): Buffer {
  const t = (columnType ?? "").toLowerCase();
  const base = baseType(t);
  const s = value.toString("utf8");
  let out: string | undefined;
  if (/^(tinyint|smallint|mediumint|int|integer|bigint)$/.test(base)) out = canonicalInteger(s);
  else if (base === "decimal" || base === "numeric") {
    const m = /\(\s*\d+\s*(?:,\s*(\d+)\s*)?\)/.exec(t);
    out = canonicalDecimal(s, m?.[1] ? Number(m[1]) : 0);
  } else if (base === "date") out = canonicalTemporal(s, "date", 0);
  else if (base === "datetime" || base === "timestamp") {
    const m = /\(\s*(\d)\s*\)/.exec(t);
    out = canonicalTemporal(s, "datetime", m ? Number(m[1]) : 0);
  }
  return out === undefined || out === s ? value : Buffer.from(out, "utf8");
}

/** Canonical text form of a plaintext of policy type `type` before it is encrypted (see serverTextForm). */
export function plaintextTextForm(type: ValueType | undefined, value: Buffer): Buffer {
  switch (type) {
    case "integer":
    case "smallint":
    case "bigint":
      return serverTextForm("bigint", value);
    case "date":
      return serverTextForm("date", value);
    default:
      return value;
  }
}
