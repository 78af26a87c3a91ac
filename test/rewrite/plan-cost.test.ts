// Plan lookup cost, cache hit vs miss (run with REWRITE_BENCH=1; skipped otherwise to keep CI short).
import { beforeAll, expect, test } from "vitest";
import { applyRewrites, literalTokens, PostgresAdapter } from "../../proxy/rewrite/index.js";
import { engineFor } from "./golden-harness.js";

const adapter = new PostgresAdapter();
beforeAll(() => adapter.init());

// {i} makes every miss a distinct shape (an alias), so misses are measured without clearing the cache
const STATEMENTS = [
  "SELECT id AS k{i}, phone, name FROM patients WHERE phone = $1",
  "INSERT INTO patients AS t{i} (id, name, phone, balance) VALUES (17, 'Li Lei', '13800000000', 10.5)",
  "SELECT p.id AS k{i}, v.note FROM patients p JOIN visits v ON v.patient_id = p.id WHERE p.name = 'x' AND v.id IN (1, 2, 3)",
];

test.skipIf(process.env.REWRITE_BENCH !== "1")("plan lookup cost (hit vs miss)", () => {
  const engine = engineFor({ file: "", title: "", section: "", sql: "", expect: {} }, adapter);
  for (const tpl of STATEMENTS) {
    const sql = tpl.replace("{i}", "0");
    const n = 20_000;
    engine.analyse(sql);
    let t = performance.now();
    for (let i = 0; i < n; i++) engine.analyse(sql);
    const hit = n / ((performance.now() - t) / 1000);
    const m = 1_000;
    t = performance.now();
    for (let i = 1; i <= m; i++) engine.analyse(tpl.replace("{i}", String(i)));
    const miss = m / ((performance.now() - t) / 1000);
    // hit + literal extraction + splice, what the gateway does per simple-protocol statement
    t = performance.now();
    for (let i = 0; i < n; i++) {
      const a = engine.analyse(sql);
      const toks = literalTokens(sql, a.shape, a.plan);
      applyRewrites(sql, a.shape, a.plan, {
        literals: new Map(a.plan.literals.map((l, k) => [l.ordinal, toks[k]])),
        slots: a.plan.slots.map(() => "NULL"),
      });
    }
    const full = n / ((performance.now() - t) / 1000);
    console.log(
      `${sql.slice(0, 60)}…  hit ${Math.round(hit)}/s  miss ${Math.round(miss)}/s  hit+splice ${Math.round(full)}/s`,
    );
    expect(hit).toBeGreaterThan(miss);
  }
});
