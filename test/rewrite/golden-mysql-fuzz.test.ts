// Fuzz of the MySQL adapter and the engine behind it: random token soups and mutated golden statements.
// parse() throws nothing but SqlParseError / UnsupportedNode / RewriteRefusal, the engine always returns a
// plan (never an internal-error refusal), literal spans are sane, and nothing hangs.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MysqlAdapter, RewriteRefusal, UnsupportedNode } from "../../proxy/rewrite/index.js";
import { engineFor, GOLDEN_MYSQL_DIR, loadGoldenCases, sharedSchema } from "./golden-harness.js";

const adapter = new MysqlAdapter();
const seeds = loadGoldenCases(GOLDEN_MYSQL_DIR).map((c) => c.sql);
const searchPath = sharedSchema(GOLDEN_MYSQL_DIR).search_path;
const words = [
  "SELECT",
  "FROM",
  "patients",
  "`patients`",
  "WHERE",
  "phone",
  "`Phone`",
  "=",
  "?",
  "'x'",
  '"y"',
  "'a\\'b'",
  "(",
  ")",
  ",",
  "JOIN",
  "ON",
  "p",
  ".",
  "*",
  "UNION",
  "INSERT",
  "INTO",
  "VALUES",
  "VALUE",
  "REPLACE",
  "UPDATE",
  "SET",
  "name",
  "LIKE",
  "ORDER",
  "BY",
  "LIMIT",
  "WITH",
  "AS",
  ";",
  "-- ",
  "--",
  "#",
  "/*",
  "*/",
  "/*!50000",
  "/*M!",
  "\n",
  "'",
  '"',
  "`",
  "\\",
  "-",
  "1",
  "1e3",
  "0x41",
  "X'41'",
  "b'01'",
  "_utf8mb4'z'",
  "N'n'",
  "@v",
  "@@sql_mode",
  "IN",
  "NOT",
  "NULL",
  "IS",
  "DEFAULT",
  "ON DUPLICATE KEY UPDATE",
  "VALUES(name)",
  "DELETE",
  "USING",
  "RETURNING",
  "balance",
  "id",
  "diagnosis",
  "contacts",
  "c",
  "billing.invoices",
  "USE",
  "billing",
  "PREPARE",
  "EXECUTE",
  "IMMEDIATE",
  "GROUP",
  "DISTINCT",
  "<=>",
  "!=",
  "<>",
  ":=",
  "&&",
  "||",
  "\\N",
];

const allowed = (e: unknown) => e instanceof RewriteRefusal || e instanceof UnsupportedNode;

describe("MySQL analyser fuzz", () => {
  const engine = engineFor({ file: "", dir: GOLDEN_MYSQL_DIR, title: "", section: "", sql: "", expect: {} }, adapter);
  const check = (sql: string) => {
    let parseError: unknown;
    try {
      adapter.parse(sql);
    } catch (e) {
      parseError = e;
    }
    if (parseError !== undefined)
      expect(allowed(parseError), `${String(parseError)} for ${JSON.stringify(sql)}`).toBe(true);
    const shape = adapter.shapeKey(sql);
    let last = 0;
    for (const s of shape.literals) {
      expect(s.start).toBeGreaterThanOrEqual(last);
      expect(s.end).toBeGreaterThan(s.start);
      last = s.end;
    }
    const t = performance.now();
    const a = engine.analyse(sql, { searchPath });
    expect(performance.now() - t).toBeLessThan(5000);
    expect(a.plan).toBeDefined();
    if (a.plan.refusal) expect(typeof a.plan.refusal.sqlstate).toBe("string");
    // internal errors are refused (fail closed) but are bugs: the fuzz must not find any
    expect(a.plan.refusal?.message ?? "", sql).not.toMatch(/internal/);
  };

  test("token soups", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...words), { maxLength: 30 }), (ws) => check(ws.join(" "))),
      { numRuns: Number(process.env.ANALYSER_FUZZ_RUNS ?? 1500) },
    );
  });

  test("token soups without spaces", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...words), { maxLength: 20 }), (ws) => check(ws.join(""))),
      { numRuns: Number(process.env.ANALYSER_FUZZ_RUNS ?? 800) },
    );
  });

  test("mutated golden statements (deletions, insertions, duplications)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.string({ maxLength: 8 }), (sql, a, b, ins) => {
        const i = a % (sql.length + 1);
        const j = Math.min(sql.length, i + (b % 12));
        check(sql.slice(0, i) + ins + sql.slice(j));
        check(sql + sql.slice(i, j));
      }),
      { numRuns: Number(process.env.ANALYSER_FUZZ_RUNS ?? 1500) },
    );
  });
});
