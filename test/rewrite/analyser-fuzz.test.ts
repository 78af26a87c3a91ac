// Fuzz: random and mutated SQL into the engine never throws anything but a plan (refusals are plans),
// and never hangs.
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { PostgresAdapter } from "../../proxy/rewrite/index.js";
import { engineFor, loadGoldenCases } from "./golden-harness.js";

const adapter = new PostgresAdapter();
beforeAll(() => adapter.init());

const seeds = loadGoldenCases().map((c) => c.sql);
const words = [
  "SELECT",
  "FROM",
  "patients",
  "WHERE",
  "phone",
  "=",
  "$1",
  "'x'",
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
  "UPDATE",
  "SET",
  "name",
  "LIKE",
  "ORDER",
  "BY",
  "WITH",
  "AS",
  ";",
  "--",
  "/*",
  '"',
  "'",
  "$$",
  "U&",
  "-",
  "1",
  "IN",
  "NOT",
  "NULL",
  "IS",
  "RETURNING",
  "balance",
  "id",
  "diagnosis",
  "contacts",
  "c",
];

describe("analyser fuzz", () => {
  const engine = engineFor({ file: "", title: "", section: "", sql: "", expect: {} }, adapter);
  const check = (sql: string) => {
    const t = performance.now();
    const a = engine.analyse(sql);
    expect(performance.now() - t).toBeLessThan(2000);
    expect(a.plan).toBeDefined();
    if (a.plan.refusal) expect(typeof a.plan.refusal.sqlstate).toBe("string");
    // internal errors are refused (fail closed) but are bugs: the fuzz must not find any
    expect(a.plan.refusal?.message ?? "", sql).not.toMatch(/internal/);
  };

  test("token soups", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...words), { maxLength: 30 }), (ws) => check(ws.join(" "))),
      {
        numRuns: 1500,
      },
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
