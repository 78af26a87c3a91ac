// The fast shape lexer agrees with the real PostgreSQL scanner (libpg-query scanSync) on literal token
// boundaries, for hand-picked edge cases and for random token soups (fast-check).
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { PostgresAdapter } from "../../proxy/rewrite/index.js";
import { pgShapeKey } from "../../proxy/rewrite/pg/shape-lexer.js";
import { byteToCharMapper, PgTokens } from "../../proxy/rewrite/pg/tokens.js";

beforeAll(() => new PostgresAdapter().init());

function realLiterals(sql: string) {
  return new PgTokens(sql, byteToCharMapper(sql)).literalSpans();
}

const pieces = [
  "'a'",
  "''",
  "'it''s'",
  "E'x\\'y'",
  "e'\\\\'",
  "$$d$$",
  "$t$ $$ $t$",
  "$1",
  "$12",
  "1",
  "1.5",
  ".5",
  "1e5",
  "1.e3",
  "0x1F",
  "1_000",
  "B'101'",
  "X'ff'",
  "N'z'",
  '"q""x"',
  '"a\'b"',
  "--c\n",
  "/* a /* b */ c */",
  "a",
  "a$b",
  "_x9",
  "ü",
  "=",
  "::",
  "->>",
  "+",
  "-",
  "(",
  ")",
  ",",
  ";",
  " ",
  "\n",
  "'a'\n'b'",
  "'a' 'b'",
  "'a'\n-- c\n'b'",
  "select",
  "from",
  "t",
  "é'x'",
];

const extraPieces = [
  "'\\'",
  "E'\\''",
  "$a$x$a$",
  "$ab",
  "0b101",
  "0o17",
  "1..2",
  "x'",
  "'",
  "/*",
  "*/",
  "--",
  "\t",
  "\r\n",
  "e",
  "E",
  "b",
  "X",
  "$",
  "''''",
  "1e",
  "1e+",
  "𝒳",
  "U&'x'",
  "$1a",
  "1a",
];

describe("shape lexer vs libpg-query scanner", () => {
  test("edge cases", () => {
    for (const p of pieces) {
      const sql = `SELECT ${p} FROM t`;
      const k = pgShapeKey(sql);
      if (!k.exact) continue;
      let real: { start: number; end: number }[];
      try {
        real = realLiterals(sql);
      } catch {
        continue;
      }
      expect(k.literals, sql).toEqual(real);
    }
  });

  test("random token soups: whenever the real scanner accepts the text and the lexer calls itself exact, they agree", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces, ...extraPieces), { maxLength: 12 }), (parts) => {
        const sql = parts.join(" ");
        const k = pgShapeKey(sql);
        let real: { start: number; end: number }[];
        try {
          real = realLiterals(sql);
        } catch {
          return;
        }
        if (k.exact) expect(k.literals).toEqual(real);
      }),
      { numRuns: Number(process.env.LEXER_FUZZ_RUNS ?? 1500) },
    );
  });

  test("the key is the text with literals and comments replaced", () => {
    const k = pgShapeKey("SELECT 'a', 1 -- x\nFROM t /* y */");
    expect(k.key).toBe("SELECT \u0000s, \u0000i  \nFROM t  ");
  });
});
