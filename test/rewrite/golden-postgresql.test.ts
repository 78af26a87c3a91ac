// Golden rewrite cases (test/rewrite/golden/*.yaml) through the PostgreSQL adapter.
import { beforeAll, describe, expect, test } from "vitest";
import { PostgresAdapter } from "../../proxy/rewrite/index.js";
import { loadGoldenCases, runCase } from "./golden-harness.js";

const adapter = new PostgresAdapter();
beforeAll(() => adapter.init());

describe("golden rewrite cases (postgresql)", () => {
  const cases = loadGoldenCases().filter((c) => !c.dialects || c.dialects.includes("postgresql"));
  test("there are golden cases", () => expect(cases.length).toBeGreaterThan(30));
  for (const c of cases) {
    test(`${c.file}: ${c.title}`, () => {
      const got = runCase(c, adapter);
      const want = c.expect;
      if (want.refusal !== undefined) {
        expect(got.refusal).toBe(want.refusal);
        expect(got.sqlstate).toBe(want.sqlstate ?? "0A000");
        return;
      }
      expect(got.refusal).toBeUndefined();
      if (want.passthrough) {
        expect(got.passthrough).toBe(true);
        return;
      }
      expect(got.passthrough).toBeUndefined();
      expect(got.rewritten).toBe(want.rewritten ?? c.sql);
      expect(got.params ?? {}).toEqual(want.params ?? {});
      if (want.results) expect(got.results).toEqual(want.results);
      expect(got.mac_checks ?? []).toEqual(want.mac_checks ?? []);
    });
  }
});
