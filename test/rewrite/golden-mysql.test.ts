// Golden rewrite cases for MySQL/MariaDB (test/rewrite/golden-mysql/*.yaml) through the MySQL adapter.
import { describe, expect, test } from "vitest";
import { MysqlAdapter } from "../../proxy/rewrite/index.js";
import { GOLDEN_MYSQL_DIR, loadGoldenCases, runCase } from "./golden-harness.js";

const adapter = new MysqlAdapter();

describe("golden rewrite cases (mysql)", () => {
  const cases = loadGoldenCases(GOLDEN_MYSQL_DIR);
  test("there are golden cases", () => expect(cases.length).toBeGreaterThan(100));
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
