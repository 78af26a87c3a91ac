// The worst failure is a value reaching a protected column unencrypted (MySQL forms). Property: for generated
// INSERT … VALUES, INSERT … SET, REPLACE and UPDATE statements, every value written into a protected column is
// either transformed (its `?` or literal carries that column's transform) or the statement is refused.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { InMemoryCatalog, MysqlAdapter, RewriteEngine, type StatementPlan } from "../../proxy/rewrite/index.js";

// t(a plain, s DET, r RND, f FPE); columns ordered as in the catalog
const COLS = ["a", "s", "r", "f"] as const;
const PROT: Record<string, string> = { s: "encrypt-det", r: "encrypt-rnd", f: "fpe" };

function engine() {
  return new RewriteEngine({
    adapter: new MysqlAdapter(),
    catalog: new InMemoryCatalog({ "db.t": [...COLS], "db.u": ["x", "y"] }),
    protectedTables: ["db.t"],
    protection: (table, c) => {
      if (table !== "db.t") return undefined;
      if (c === "s") return { protect: "encrypt", mode: "deterministic", key: "k" };
      if (c === "r") return { protect: "encrypt", key: "k" };
      if (c === "f") return { protect: "fpe", format: "digits", key: "k" };
      return undefined;
    },
  });
}

/** "typed": a binary / charset-introduced / DATE literal — accepted for FPE, refused for encryption. */
type Value = { sql: string; kind: "param" | "literal" | "null" | "expr" | "typed" };
const computed = (v: Value, col: string) => v.kind === "expr" || (v.kind === "typed" && col !== "f");
const VALUES: Value[] = [
  { sql: "?", kind: "param" },
  { sql: "'v''1'", kind: "literal" },
  { sql: "'v\\'2'", kind: "literal" },
  { sql: '"dq"', kind: "literal" },
  { sql: "'a' 'b'", kind: "literal" },
  { sql: "N'n'", kind: "literal" },
  { sql: "42", kind: "literal" },
  { sql: "-7", kind: "literal" },
  { sql: "NULL", kind: "null" },
  { sql: "UPPER('x')", kind: "expr" },
  { sql: "CONCAT('a', ?)", kind: "expr" },
  { sql: "(SELECT y FROM u LIMIT 1)", kind: "expr" },
  { sql: "DEFAULT", kind: "expr" },
  { sql: "CASE WHEN TRUE THEN 'x' END", kind: "expr" },
  { sql: "@v", kind: "expr" },
  { sql: "'1' + 0", kind: "expr" },
  { sql: "X'41'", kind: "typed" },
  { sql: "0x41", kind: "typed" },
  { sql: "_utf8mb4'x'", kind: "typed" },
  { sql: "DATE '2020-01-01'", kind: "typed" },
];

/** Checks the value for protected column `col`; `n` is the number of its first `?` (when it has one). */
function checkValue(sql: string, plan: StatementPlan, col: string, v: Value, n: number) {
  const want = PROT[col];
  if (!want) return;
  if (v.kind === "param") {
    expect(plan.params[n - 1]?.target?.transform, `${sql}: ?${n} → ${col}`).toBe(want);
    expect(plan.params[n - 1]?.target?.column.column).toBe(col);
  } else if (v.kind === "literal" || v.kind === "typed") {
    const lit = plan.literals.find((l) => l.target.column.column === col && l.target.transform === want);
    expect(lit, `${sql}: literal → ${col}`).toBeDefined();
  } else if (computed(v, col)) {
    throw new Error(`${sql}: a computed value reached ${col} without refusal`);
  }
}

/** `?` numbers of each value, in text order. */
function numberParams(values: Value[]): number[] {
  let n = 0;
  return values.map((v) => {
    const first = n + 1;
    n += (v.sql.match(/\?/g) ?? []).length;
    return first;
  });
}

function check(e: RewriteEngine, sql: string, cols: readonly string[], values: Value[][]) {
  const plan = e.analyse(sql, { searchPath: ["db"] }).plan;
  const hasExpr = values.some((r) => r.some((v, i) => computed(v, cols[i]) && PROT[cols[i]]));
  if (plan.refusal) {
    expect(hasExpr, `${sql} refused: ${plan.refusal.message}`).toBe(true);
    return;
  }
  expect(hasExpr, sql).toBe(false);
  const numbers = numberParams(values.flat());
  let k = 0;
  for (const r of values) for (const [i, v] of r.entries()) checkValue(sql, plan, cols[i], v, numbers[k++]);
  const protectedLiterals = values.flatMap((r) =>
    r.filter((v, i) => (v.kind === "literal" || v.kind === "typed") && PROT[cols[i]]),
  );
  expect(plan.literals.length, sql).toBe(protectedLiterals.length);
}

const row = fc.array(fc.constantFrom(...VALUES), { minLength: 4, maxLength: 4 });

describe("no plaintext path into protected columns (MySQL)", () => {
  test("INSERT / REPLACE … VALUES with any column order and value forms", () => {
    const e = engine();
    fc.assert(
      fc.property(
        fc.shuffledSubarray([...COLS], { minLength: 1 }),
        fc.array(row, { minLength: 1, maxLength: 3 }),
        fc.constantFrom("INSERT INTO", "INSERT IGNORE INTO", "REPLACE INTO"),
        (cols, rows, verb) => {
          const values = rows.map((r) => r.slice(0, cols.length));
          const sql = `${verb} t (${cols.join(", ")}) VALUES ${values.map((r) => `(${r.map((v) => v.sql).join(", ")})`).join(", ")}`;
          check(e, sql, cols, values);
        },
      ),
      { numRuns: 400 },
    );
  });

  test("INSERT … SET and UPDATE … SET with any value forms", () => {
    const e = engine();
    fc.assert(
      fc.property(
        fc.shuffledSubarray([...COLS], { minLength: 1 }),
        row,
        fc.constantFrom("INSERT INTO t SET", "UPDATE t SET", "UPDATE IGNORE t SET"),
        (cols, r, verb) => {
          const values = [r.slice(0, cols.length)];
          const where = verb.startsWith("UPDATE") ? " WHERE a = 'k' LIMIT 1" : "";
          const sql = `${verb} ${cols.map((c, i) => `${c} = ${values[0][i].sql}`).join(", ")}${where}`;
          check(e, sql, cols, values);
        },
      ),
      { numRuns: 400 },
    );
  });

  test("copying from another table or through variables into protected columns is refused", () => {
    const e = engine();
    for (const sql of [
      "INSERT INTO t (s) SELECT y FROM u",
      "INSERT INTO t SELECT x, y, x, y FROM u",
      "INSERT INTO t (r) SELECT y FROM u UNION ALL SELECT 'x'",
      "INSERT INTO t (s) VALUES ((SELECT y FROM u LIMIT 1))",
      "UPDATE t JOIN u ON u.x = t.a SET t.s = u.y",
      "INSERT INTO t (a) VALUES ('x') ON DUPLICATE KEY UPDATE s = CONCAT('plain', VALUES(a))",
      "INSERT INTO t (a, s) VALUES ('x', ?) ON DUPLICATE KEY UPDATE s = VALUES(a)",
      "SET @v = 'plain'; INSERT INTO t (s) VALUES (@v)",
      "INSERT INTO t (s) VALUES ('x' /*!50000 , 'y' */)",
      "INSERT INTO t (s) VALUES (1--1)",
    ]) {
      expect(e.analyse(sql, { searchPath: ["db"] }).plan.refusal, sql).toBeDefined();
    }
  });
});
