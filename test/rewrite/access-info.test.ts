// Per-statement access information for policy decisions: which protected tables are read or written with
// which operation, and which protected columns are read or written.
import { beforeAll, describe, expect, test } from "vitest";
import { PostgresAdapter } from "../../proxy/rewrite/index.js";
import { engineFor } from "./golden-harness.js";

const adapter = new PostgresAdapter();
beforeAll(() => adapter.init());
const analyse = (sql: string) => {
  const e = engineFor({ file: "", title: "", section: "", sql: "", expect: {} }, adapter);
  const plan = e.analyse(sql).plan;
  expect(plan.refusal).toBeUndefined();
  return plan.parts[plan.parts.length - 1];
};

describe("table and column access per statement", () => {
  test("DELETE … USING reads the USING table and deletes from the target", () => {
    const p = analyse("DELETE FROM contacts c USING patients p WHERE c.patient_id = p.id AND p.phone = $1");
    expect(p.tableAccess).toEqual([
      { table: "public.contacts", ops: ["delete"] },
      { table: "public.patients", ops: ["select"] },
    ]);
    expect(p.columnsRead).toEqual(["public.patients.phone"]);
    expect(p.columnsWritten).toEqual([]);
  });

  test("UPDATE writes the SET columns and reads the WHERE columns", () => {
    const p = analyse("UPDATE contacts SET name = $1 WHERE phone = $2");
    expect(p.tableAccess).toEqual([{ table: "public.contacts", ops: ["update"] }]);
    expect(p.columnsWritten).toEqual(["public.contacts.name"]);
    expect(p.columnsRead).toEqual(["public.contacts.phone"]);
  });

  test("SELECT * reads every protected column; a CTE source is read too", () => {
    const p = analyse("WITH c AS (SELECT phone FROM billing.invoices) SELECT * FROM contacts, c");
    expect(p.tableAccess).toEqual([
      { table: "billing.invoices", ops: ["select"] },
      { table: "public.contacts", ops: ["select"] },
    ]);
    expect(p.columnsRead).toEqual(["billing.invoices.phone", "public.contacts.name", "public.contacts.phone"]);
  });

  test("COPY FROM writes, COPY TO reads", () => {
    expect(analyse("COPY billing.invoices (id, phone) FROM STDIN").columnsWritten).toEqual(["billing.invoices.phone"]);
    const to = analyse("COPY billing.invoices TO STDOUT");
    expect(to.tableAccess).toEqual([{ table: "billing.invoices", ops: ["select"] }]);
    expect(to.columnsRead).toEqual(["billing.invoices.phone"]);
  });
});
