// Grammar-based fuzz: random well-formed SELECT/INSERT/UPDATE/DELETE over the golden schema, mixing protected
// and plain columns in every clause. The analyser never fails internally, and a statement it accepts never
// leaves a literal compared with or written into a protected column untransformed.
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { PostgresAdapter } from "../../proxy/rewrite/index.js";
import { engineFor } from "./golden-harness.js";

const adapter = new PostgresAdapter();
beforeAll(() => adapter.init());

const col = fc.constantFrom(
  "p.id",
  "p.phone",
  "p.name",
  "p.diagnosis",
  "p.id_card",
  "p.balance",
  "v.note",
  "v.phone",
  "id",
  "note",
);
const value = fc.constantFrom("$1", "$2", "'a'", "42", "-1", "NULL", "v.note", "p.phone", "lower('x')");
const literal = fc.constantFrom("'a'", "42", "-1", "$$x$$", "E'y\\'z'");
const pred = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom("p.phone", "p.name", "p.id_card", "p.id", "v.note"), fc.constantFrom("=", "<>"), literal)
      .map(([c, o, v]) => `${c} ${o} ${v}`),
  },
  fc.tuple(col, fc.constantFrom("=", "<>", "<", ">="), value).map(([c, o, v]) => `${c} ${o} ${v}`),
  fc.tuple(col, fc.array(value, { minLength: 1, maxLength: 3 })).map(([c, vs]) => `${c} IN (${vs.join(", ")})`),
  col.map((c) => `${c} IS NULL`),
  fc.tuple(col, value).map(([c, v]) => `${c} LIKE ${v}`),
  { weight: 1, arbitrary: fc.tuple(col, col).map(([a, b]) => `${a} = ${b}`) },
  col.map((c) => `EXISTS (SELECT 1 FROM patients q WHERE q.phone = ${c})`),
);
const where = fc
  .array(pred, { minLength: 0, maxLength: 3 })
  .map((ps) => (ps.length ? ` WHERE ${ps.join(" AND ")}` : ""));
const select = fc
  .tuple(
    fc.array(
      fc.oneof(
        col,
        fc.constant("*"),
        fc.constant("count(*)"),
        col.map((c) => `upper(${c})`),
      ),
      { minLength: 1, maxLength: 4 },
    ),
    fc.boolean(),
    where,
    fc.option(col),
    fc.option(col),
    fc.boolean(),
  )
  .map(
    ([targets, distinct, w, order, group, union]) =>
      `SELECT ${distinct ? "DISTINCT " : ""}${targets.join(", ")} FROM patients p JOIN visits v ON v.patient_id = p.id${w}${
        group ? ` GROUP BY ${group}` : ""
      }${order ? ` ORDER BY ${order}` : ""}${union ? " UNION ALL SELECT p.phone FROM patients p" : ""}`,
  );
const dml = fc.oneof(
  fc
    .tuple(fc.shuffledSubarray(["id", "phone", "name", "diagnosis", "id_card", "balance"], { minLength: 1 }), value)
    .map(([cs, v]) => `INSERT INTO patients AS p (${cs.join(", ")}) VALUES (${cs.map(() => v).join(", ")})`),
  fc
    .tuple(fc.constantFrom("phone", "name", "diagnosis", "balance", "id"), value, where)
    .map(([c, v, w]) => `UPDATE patients p SET ${c} = ${v} FROM visits v${w}`),
  where.map((w) => `DELETE FROM patients p USING visits v${w}`),
);

describe("grammar fuzz", () => {
  test("random statements: no internal error; accepted literals into/against protected columns are transformed", () => {
    const engine = engineFor({ file: "", title: "", section: "", sql: "", expect: {} }, adapter);
    let accepted = 0;
    let checked = 0;
    fc.assert(
      fc.property(fc.oneof(select, dml), (sql) => {
        const a = engine.analyse(sql);
        expect(a.plan.refusal?.message ?? "", sql).not.toMatch(/internal/);
        if (a.plan.refusal) return;
        accepted++;
        // every literal token right after "phone =", "name =", "diagnosis =", "id_card =" on p. must be rewritten
        for (const [i, span] of a.shape.literals.entries()) {
          const before = sql.slice(Math.max(0, span.start - 14), span.start);
          if (/p\.(phone|name|id_card) (=|<>) -?$/.test(before) && ++checked)
            expect(
              a.plan.literals.some((l) => l.ordinal === i),
              `${sql}: literal #${i}`,
            ).toBe(true);
        }
      }),
      { numRuns: Number(process.env.ANALYSER_FUZZ_RUNS ?? 1000) },
    );
    // the generator must produce accepted statements with protected literal comparisons, or the test proves nothing
    expect(accepted).toBeGreaterThan(50);
    expect(checked).toBeGreaterThan(10);
  });
});
