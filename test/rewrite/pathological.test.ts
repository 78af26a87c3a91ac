// Pathological inputs: deep nesting, huge IN lists, long literals — a typed result, in bounded time.
import { beforeAll, describe, expect, test } from "vitest";
import { PostgresAdapter } from "../../proxy/rewrite/index.js";
import { engineFor } from "./golden-harness.js";

const adapter = new PostgresAdapter();
beforeAll(() => adapter.init());
const engine = () => engineFor({ file: "", title: "", section: "", sql: "", expect: {} }, adapter);

describe("pathological statements", () => {
  test("10,000 nested parentheses are refused as a parse error, not a crash", () => {
    const sql = `SELECT id FROM patients WHERE phone = ${"(".repeat(10_000)}$1${")".repeat(10_000)}`;
    const a = engine().analyse(sql);
    expect(a.plan.refusal?.sqlstate).toBe("42601"); // the parser's own limit ("memory exhausted")
  });

  test("an IN list of 20,000 literals is planned in bounded time with every literal encrypted", () => {
    const items = Array.from({ length: 20_000 }, (_, i) => `'${i}'`).join(", ");
    const t = performance.now();
    const a = engine().analyse(`SELECT id FROM patients WHERE phone IN (${items})`);
    expect(performance.now() - t).toBeLessThan(20_000);
    expect(a.plan.literals).toHaveLength(20_000);
  });

  test("a 1 MiB literal into an encrypted column", () => {
    const big = "x".repeat(1 << 20);
    const sql = `INSERT INTO billing.invoices (id, phone) VALUES (1, '${big}')`;
    const e = engine();
    const a = e.analyse(sql);
    expect(a.plan.literals).toHaveLength(1);
    expect(e.literalValues(sql, a)[0]).toHaveLength(1 << 20);
  });
  test("200 nested parentheses still parse and keep the parameter's transform", () => {
    const sql = `SELECT id FROM patients WHERE phone = ${"(".repeat(200)}$1${")".repeat(200)}`;
    expect(engine().analyse(sql).plan.params[0].target?.transform).toBe("encrypt-det");
  });
});
