// Binary ⇄ text wire conversions of the plaintext types an encrypted column can present, checked against the
// real PostgreSQL server as the oracle: its *_send functions give the binary form, ::text the text form.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binaryToText, OID, textToBinary } from "../../proxy/pg/encrypt/pg-types.js";

// every result column comes back as the server's raw text form
const raw = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;
const client = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test", types: raw });
beforeAll(() => client.connect());
afterAll(() => client.end());

const CASES: [keyof typeof OID, string, string[]][] = [
  ["int2", "int2send", ["0", "-32768", "32767", "42"]],
  ["int4", "int4send", ["0", "-2147483648", "2147483647", "123456"]],
  ["int8", "int8send", ["0", "-9223372036854775808", "9223372036854775807"]],
  ["float8", "float8send", ["0", "1.5", "-2.25", "3.141592653589793", "1e+100", "NaN", "Infinity"]],
  ["float4", "float4send", ["0", "1.5", "-2.25", "3.1415927", "0.1"]],
  ["bool", "boolsend", ["t", "f"]],
  ["numeric", "numeric_send", ["0", "123.45", "-0.0001", "100000000.00", "99999999999999999999.123456789", "NaN", "1"]],
  ["date", "date_send", ["2000-01-01", "1970-01-01", "1999-12-31", "2026-11-23", "0001-01-01"]],
  ["timestamp", "timestamp_send", ["2000-01-01 00:00:00", "1969-12-31 23:59:59.5", "2026-11-23 15:04:05.123456"]],
  ["uuid", "uuid_send", ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]],
  ["bytea", "byteasend", ["\\x", "\\x00ff10"]],
  ["text", "textsend", ["", "héllo 世界"]],
  ["jsonb", "jsonb_send", ['{"a": 1}']],
];

describe("pg binary/text conversions agree with the server", () => {
  for (const [type, send, values] of CASES) {
    it(type, async () => {
      for (const v of values) {
        const sqlType = type === "float4" ? "real" : type === "float8" ? "double precision" : type;
        const r = await client.query(`SELECT ${send}($1::${sqlType}) AS b, $1::${sqlType} AS t`, [v]);
        const bin = Buffer.from(String(r.rows[0].b).slice(2), "hex");
        const text: string = r.rows[0].t;
        expect(binaryToText(OID[type], bin).toString("utf8"), `${type} ${v} → text`).toBe(text);
        expect(textToBinary(OID[type], Buffer.from(text, "utf8")).toString("hex"), `${type} ${v} → binary`).toBe(
          bin.toString("hex"),
        );
      }
    });
  }
});
