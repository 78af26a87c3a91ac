// The worst failure is a value reaching a protected column unencrypted. Property: for generated INSERT and
// UPDATE statements, every value written into a protected column is either transformed (its parameter or
// literal carries that column's transform) or the statement is refused.
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { InMemoryCatalog, PostgresAdapter, RewriteEngine, type StatementPlan } from "../../proxy/rewrite/index.js";

const adapter = new PostgresAdapter();
beforeAll(() => adapter.init());

// t(a plain, s DET, r RND, f FPE); columns ordered as in the catalog
const COLS = ["a", "s", "r", "f"] as const;
const PROT: Record<string, string> = { s: "encrypt-det", r: "encrypt-rnd", f: "fpe" };

function engine() {
  return new RewriteEngine({
    adapter,
    catalog: new InMemoryCatalog({ "public.t": [...COLS], "public.u": ["x", "y"] }),
    protectedTables: ["public.t"],
    protection: (table, c) => {
      if (table !== "public.t") return undefined;
      if (c === "s") return { protect: "encrypt", mode: "deterministic", key: "k" };
      if (c === "r") return { protect: "encrypt", key: "k" };
      if (c === "f") return { protect: "fpe", format: "digits", key: "k" };
      return undefined;
    },
  });
}

/** "typed": a literal cast to a non-text type — accepted for FPE (format keeps the type), refused for encryption. */
type Value = { sql: string; kind: "param" | "literal" | "null" | "expr" | "typed" };
const computed = (v: Value, col: string) => v.kind === "expr" || (v.kind === "typed" && col !== "f");
const value = (n: number): fc.Arbitrary<Value> =>
  fc.oneof(
    fc.constant<Value>({ sql: `$${n}`, kind: "param" }),
    fc.constantFrom<Value>(
      { sql: "'v''1'", kind: "literal" },
      { sql: "42", kind: "literal" },
      { sql: "-7", kind: "literal" },
      { sql: "$q$x$q$", kind: "literal" },
      { sql: "'a'::text", kind: "literal" },
      { sql: "NULL", kind: "null" },
      { sql: "upper('x')", kind: "expr" },
      { sql: "'a' || 'b'", kind: "expr" },
      { sql: "(SELECT y FROM u LIMIT 1)", kind: "expr" },
      { sql: "DEFAULT", kind: "expr" },
      { sql: "CASE WHEN true THEN 'x' END", kind: "expr" },
      { sql: "'5'::int", kind: "typed" },
    ),
  );

/** Checks that the value for protected column `col` was transformed, given where it was written. */
function checkValue(sql: string, plan: StatementPlan, col: string, v: Value, start: number) {
  const want = PROT[col];
  if (!want) return;
  if (v.kind === "param") {
    const n = Number(v.sql.slice(1));
    expect(plan.params[n - 1]?.target?.transform, `${sql}: $${n} → ${col}`).toBe(want);
    expect(plan.params[n - 1]?.target?.column.column).toBe(col);
  } else if (v.kind === "literal" || v.kind === "typed") {
    const lit = plan.literals.find((l) => {
      return l.target.column.column === col && l.target.transform === want;
    });
    expect(lit, `${sql}: literal at ${start} → ${col}`).toBeDefined();
  } else if (computed(v, col)) {
    throw new Error(`${sql}: a computed value reached ${col} without refusal`);
  }
}

describe("no plaintext path into protected columns", () => {
  test("INSERT … VALUES with any column order and value forms", () => {
    const e = engine();
    fc.assert(
      fc.property(
        fc.shuffledSubarray([...COLS], { minLength: 1 }),
        fc.array(fc.tuple(value(1), value(2), value(3), value(4)), { minLength: 1, maxLength: 3 }),
        (cols, rows) => {
          const rendered = rows.map((r) =>
            r.slice(0, cols.length).map((v, i) => ({ ...v, sql: v.kind === "param" ? `$${i + 1}` : v.sql })),
          );
          const sql = `INSERT INTO t (${cols.join(", ")}) VALUES ${rendered.map((r) => `(${r.map((v) => v.sql).join(", ")})`).join(", ")}`;
          const plan = e.analyse(sql).plan;
          const hasExpr = rendered.some((r) => r.some((v, i) => computed(v, cols[i]) && PROT[cols[i]]));
          if (plan.refusal) {
            expect(hasExpr, `${sql} refused: ${plan.refusal.message}`).toBe(true);
            return;
          }
          expect(hasExpr, sql).toBe(false);
          for (const r of rendered) for (const [i, v] of r.entries()) checkValue(sql, plan, cols[i], v, 0);
          const protectedLiterals = rendered
            .flat()
            .filter((v, k) => (v.kind === "literal" || v.kind === "typed") && PROT[cols[k % cols.length]]);
          expect(plan.literals.length).toBe(protectedLiterals.length);
        },
      ),
      { numRuns: 400 },
    );
  });

  test("UPDATE … SET with any value forms", () => {
    const e = engine();
    fc.assert(
      fc.property(
        fc.shuffledSubarray([...COLS], { minLength: 1 }),
        fc.tuple(value(1), value(2), value(3), value(4)),
        (cols, vals) => {
          const vs = cols.map((_, i) => ({ ...vals[i], sql: vals[i].kind === "param" ? `$${i + 1}` : vals[i].sql }));
          const sql = `UPDATE t SET ${cols.map((c, i) => `${c} = ${vs[i].sql}`).join(", ")} WHERE a = 'k'`;
          const plan = e.analyse(sql).plan;
          const hasExpr = vs.some((v, i) => computed(v, cols[i]) && PROT[cols[i]]);
          if (plan.refusal) {
            expect(hasExpr, `${sql} refused: ${plan.refusal.message}`).toBe(true);
            return;
          }
          expect(hasExpr, sql).toBe(false);
          for (const [i, v] of vs.entries()) checkValue(sql, plan, cols[i], v, 0);
        },
      ),
      { numRuns: 400 },
    );
  });

  test("INSERT … SELECT from another table into protected columns is refused", () => {
    const e = engine();
    for (const sql of [
      "INSERT INTO t (s) SELECT y FROM u",
      "INSERT INTO t SELECT x, y, x, y FROM u",
      "INSERT INTO t (r) SELECT y FROM u UNION ALL SELECT 'x'",
      "INSERT INTO t (f) WITH c AS (SELECT y FROM u) SELECT y FROM c",
      "INSERT INTO t (s) VALUES ((SELECT y FROM u LIMIT 1))",
      "UPDATE t SET s = u.y FROM u",
      "UPDATE t SET (s, r) = (SELECT x, y FROM u)",
      "INSERT INTO t (a) VALUES ('x') ON CONFLICT (a) DO UPDATE SET s = 'plain' || EXCLUDED.a",
    ]) {
      expect(e.analyse(sql).plan.refusal, sql).toBeDefined();
    }
  });
});
