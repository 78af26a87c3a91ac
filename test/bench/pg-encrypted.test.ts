// Encryption benchmark scenarios (bench/scenarios/pg-encrypted.ts) and their loader driver
// (bench/drivers/pg-batch-insert.ts): registration and defaults, the policy compiles and protects both
// columns, the client-side row generator equals the server-side plaintext load, the multi-row INSERT builder,
// and the loader against the real PostgreSQL. No timing assertions.
import { describe, expect, it } from "vitest";
import { batchInsert, batchRanges, MAX_PARAMS, multiRowInsertSql } from "../../bench/drivers/pg-batch-insert.js";
import { pgQuery } from "../../bench/net.js";
import { getTarget, selectScenarios } from "../../bench/registry.js";
import { registerBuiltins } from "../../bench/scenarios/index.js";
import {
  ENCRYPTED_POLICY,
  ENCRYPTED_TARGET,
  INSERT_SCRIPT,
  INSERT_TABLE,
  PLAIN_SELECT_LOAD,
  SELECT_TABLE,
  selectRow,
} from "../../bench/scenarios/pg-encrypted.js";
import { compilePolicyText } from "../../policy/holder.js";
import { dropDb, PG, uniqueDbName } from "./helpers.js";

registerBuiltins();

describe("encryption bench scenarios", () => {
  it("are registered, on by default, measured against direct with a ratio", () => {
    const names = selectScenarios([]).map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["pg-encrypted-select-1m", "pg-encrypted-insert-8c"]));
    for (const name of ["pg-encrypted-select-1m", "pg-encrypted-insert-8c"]) {
      const s = selectScenarios([name])[0];
      expect(s.targets).toEqual(["direct", ENCRYPTED_TARGET]);
      expect(s.ratios).toEqual([{ numerator: ENCRYPTED_TARGET, denominator: "direct" }]);
    }
    expect(getTarget(ENCRYPTED_TARGET)?.name).toBe(ENCRYPTED_TARGET);
  });

  it("the policy compiles and protects note (randomized) and mobile (FPE cn-mobile) of both tables", () => {
    const c = compilePolicyText(ENCRYPTED_POLICY, "bench-policy.yaml");
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    for (const t of [SELECT_TABLE, INSERT_TABLE]) {
      const note = c.policy.protection(`public.${t}`, "note");
      const mobile = c.policy.protection(`public.${t}`, "mobile");
      expect(note?.protect).toBe("encrypt");
      expect(note?.mode ?? "randomized").toBe("randomized");
      expect(mobile?.protect).toBe("fpe");
      expect(mobile?.format).toBe("cn-mobile");
    }
  });

  it("the insert script is one single-row INSERT of both protected columns from variables", () => {
    const statements = INSERT_SCRIPT.split("\n").filter((l) => l.trim() && !l.startsWith("\\"));
    expect(statements).toEqual([`insert into ${INSERT_TABLE} (note, mobile) values (:note, :m);`]);
    expect(INSERT_SCRIPT).toMatch(/^\\set m 13800000000 \+ random\(0, 99999999\)$/m);
  });

  it("multiRowInsertSql numbers parameters row by row and refuses too many parameters", () => {
    expect(multiRowInsertSql("t", ["a", "b"], 2)).toBe('INSERT INTO "t" ("a", "b") VALUES ($1, $2), ($3, $4)');
    expect(() => multiRowInsertSql("t", ["a", "b"], Math.floor(MAX_PARAMS / 2) + 1)).toThrow(/bind parameters/);
    expect(() => multiRowInsertSql("t", [], 1)).toThrow();
    expect(batchRanges(5, 2)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    expect(batchRanges(0, 3)).toEqual([]);
  });

  it("batchInsert loads every row once, and selectRow equals the server-side plaintext load", async () => {
    const db = uniqueDbName("encload");
    await pgQuery({ ...PG, database: "postgres" }, `create database ${db}`);
    try {
      const ep = { ...PG, database: db };
      for (const t of ["a", "b"])
        await pgQuery(ep, `create table ${t} (id integer primary key, note text not null, mobile text not null)`);
      await batchInsert({
        endpoint: ep,
        table: "a",
        columns: ["id", "note", "mobile"],
        total: 2503,
        row: selectRow,
        batchRows: 1000,
        connections: 3,
      });
      await pgQuery(ep, PLAIN_SELECT_LOAD(2503).replace(`into ${SELECT_TABLE}`, "into b"));
      const diff = await pgQuery<{ n: string }>(
        ep,
        "select count(*) as n from (select * from a except select * from b union all select * from b except select * from a) d",
      );
      expect(Number(diff[0].n)).toBe(0);
      const n = await pgQuery<{ n: string; lo: number; hi: number }>(
        ep,
        "select count(*) as n, min(id) as lo, max(id) as hi from a",
      );
      expect(n[0]).toMatchObject({ lo: 0, hi: 2502 });
      expect(Number(n[0].n)).toBe(2503);
    } finally {
      await dropDb(db);
    }
  }, 120_000);
});
