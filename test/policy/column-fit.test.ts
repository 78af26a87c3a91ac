// Column sizing rules of `policy validate --db` on catalog descriptions (no database): which column types and
// widths hold which transform. Envelope sizes follow SPEC §4 (RND 37+n bytes, DET 21+n bytes); e.g. DET of an
// 18-byte value: 39-byte envelope, 52 base64url characters + "smg1:" = 57; RND: 55 bytes → 74 + 5 = 79.
import { describe, expect, it } from "vitest";
import type { ColumnInfo } from "../../policy/db/inspector.js";
import type { ColumnProtection } from "../../policy/policy-types.js";
import { columnFit } from "../../policy/validate-db.js";

const base = { key: "k", type: "text", schemaTable: "s.t", column: "c", ad: "s.t.c" } as const;
const enc = (extra: Partial<ColumnProtection> = {}): ColumnProtection => ({
  ...base,
  protect: "encrypt",
  mode: "randomized",
  ...extra,
});
const fpe = (format: ColumnProtection["format"], extra: Partial<ColumnProtection> = {}): ColumnProtection => ({
  ...base,
  protect: "fpe",
  format,
  ...extra,
});
const col = (typeText: string, kind: ColumnInfo["kind"], maxLength?: number, maxDigits?: number): ColumnInfo => {
  const c: ColumnInfo = { name: "c", dataType: typeText, typeText, kind, nullable: true };
  if (maxLength !== undefined) c.maxLength = maxLength;
  if (maxDigits !== undefined) c.maxDigits = maxDigits;
  return c;
};
const verdict = (p: ColumnProtection, c: ColumnInfo) => {
  const m = columnFit(p, c, "postgres");
  return m.length === 0 ? "ok" : m[0].severity;
};

describe("column fit", () => {
  it.each([
    ["RND in text", enc(), col("text", "text"), "ok"],
    ["RND in bytea", enc(), col("bytea", "binary"), "ok"],
    ["RND in varchar(18)", enc(), col("varchar(18)", "text", 18), "error"],
    ["RND in varchar(79) (exactly 18 chars' envelope)", enc(), col("varchar(79)", "text", 79), "error"], // plaintext width = 79 then
    ["RND in varchar(79) with max_length 18", enc({ max_length: 18 }), col("varchar(79)", "text", 79), "ok"],
    ["RND in varchar(78) with max_length 18", enc({ max_length: 18 }), col("varchar(78)", "text", 78), "error"],
    [
      "DET in varchar(57) with max_length 18",
      enc({ mode: "deterministic", max_length: 18 }),
      col("varchar(57)", "text", 57),
      "ok",
    ],
    [
      "DET in varchar(56) with max_length 18",
      enc({ mode: "deterministic", max_length: 18 }),
      col("varchar(56)", "text", 56),
      "error",
    ],
    ["RND in varbinary(55) with max_length 18", enc({ max_length: 18 }), col("varbinary(55)", "binary", 55), "ok"],
    ["RND in varbinary(54) with max_length 18", enc({ max_length: 18 }), col("varbinary(54)", "binary", 54), "error"],
    ["RND in varbinary(37): no room", enc(), col("varbinary(37)", "binary", 37), "error"],
    ["RND in varbinary(64) without max_length", enc(), col("varbinary(64)", "binary", 64), "warning"],
    ["RND in integer", enc(), col("integer", "integer", undefined, 9), "error"],
    ["RND in date", enc(), col("date", "other"), "error"],
    ["cn-id in char(18)", fpe("cn-id"), col("char(18)", "text", 18), "ok"],
    ["cn-id in varchar(15)", fpe("cn-id"), col("varchar(15)", "text", 15), "error"],
    ["cn-id in bigint", fpe("cn-id"), col("bigint", "integer", undefined, 18), "error"],
    ["cn-mobile in bigint", fpe("cn-mobile"), col("bigint", "integer", undefined, 18), "warning"],
    ["bank-card in bigint (19 digits > 18)", fpe("bank-card"), col("bigint", "integer", undefined, 18), "error"],
    [
      "integer width 12 in integer (9 digits)",
      fpe("integer", { width: 12 }),
      col("integer", "integer", undefined, 9),
      "error",
    ],
    ["alnum in varchar(8) width 10", fpe("alnum", { width: 10 }), col("varchar(8)", "text", 8), "error"],
    ["alnum in numeric", fpe("alnum"), col("numeric", "numeric"), "error"],
    ["mac on anything", { ...base, protect: "mac" } as ColumnProtection, col("date", "other"), "ok"],
  ] as [string, ColumnProtection, ColumnInfo, string][])("%s", (_name, p, c, expected) => {
    expect(verdict(p, c)).toBe(expected);
  });
});
