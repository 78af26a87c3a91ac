// Shape cache behaviour: a repeated statement is parsed once, plans are reused across literal values with
// literal positions recomputed per statement, and statements that differ in structure never share a plan.
import { beforeAll, describe, expect, test } from "vitest";
import {
  applyRewrites,
  InMemoryCatalog,
  literalTokens,
  PostgresAdapter,
  RewriteEngine,
} from "../../proxy/rewrite/index.js";

const adapter = new PostgresAdapter();
beforeAll(() => adapter.init());

function engine() {
  return new RewriteEngine({
    adapter,
    catalog: new InMemoryCatalog({ "public.t": ["id", "secret", "note"] }),
    protectedTables: ["public.t"],
    protection: (table, col) =>
      table === "public.t" && col === "secret" ? { protect: "encrypt", mode: "deterministic", key: "k" } : undefined,
  });
}

const enc = (sql: string, e: RewriteEngine) => {
  const a = e.analyse(sql);
  const toks = literalTokens(sql, a.shape, a.plan);
  const lits = new Map(a.plan.literals.map((l, i) => [l.ordinal, `'E(${toks[i].replace(/'/g, "")})'`]));
  return { a, out: applyRewrites(sql, a.shape, a.plan, { literals: lits }) };
};

describe("shape cache", () => {
  test("second statement with other literal values is a cache hit and rewrites its own literals", () => {
    const e = engine();
    const first = enc("INSERT INTO t (id, secret) VALUES (1, 'a') /* c */", e);
    expect(first.a.cached).toBe(false);
    expect(first.out).toBe("INSERT INTO t (id, secret) VALUES (1, 'E(a)') /* c */");
    const second = enc("INSERT INTO t (id, secret) VALUES (12345, 'longer value ü') -- trailing comment", e);
    expect(second.a.cached).toBe(true);
    expect(second.out).toBe("INSERT INTO t (id, secret) VALUES (12345, 'E(longer value ü)') -- trailing comment");
    expect(e.stats).toMatchObject({ hits: 1, misses: 1 });
  });

  test("a parameter and a literal in the same position never share a plan", () => {
    // libpg-query normalize()/fingerprint() give these two the same text/fingerprint: `VALUES ($2, $1)`
    const e = engine();
    const a = e.analyse("INSERT INTO t (secret, note) VALUES ($2, $1)");
    const b = e.analyse("INSERT INTO t (secret, note) VALUES ('x', $1)");
    expect(b.cached).toBe(false);
    expect(a.plan.params[1].target?.transform).toBe("encrypt-det");
    expect(b.plan.literals).toHaveLength(1);
    expect(b.plan.params[0]?.target).toBeUndefined();
  });

  test("different search_path values use different cache entries", () => {
    const e = engine();
    e.analyse("SELECT secret FROM t WHERE secret = $1", { searchPath: ["public"] });
    const other = e.analyse("SELECT secret FROM t WHERE secret = $1", { searchPath: ["other"] });
    expect(other.cached).toBe(false);
    expect(other.plan.passthrough).toBe(true);
  });

  test("SET search_path = '…' with a literal value is never cached (the plan depends on the value)", () => {
    const e = engine();
    const a = e.analyse("SET search_path = 'other'; INSERT INTO t (secret) VALUES ('x')");
    expect(a.plan.passthrough).toBe(true);
    const b = e.analyse("SET search_path = 'public'; INSERT INTO t (secret) VALUES ('x')");
    expect(b.cached).toBe(false);
    expect(b.plan.literals).toHaveLength(1);
  });

  test("clear() (policy reload) drops cached plans", () => {
    const e = engine();
    e.analyse("SELECT secret FROM t WHERE secret = 'a'");
    expect(e.cacheSize).toBe(1);
    e.clear();
    expect(e.analyse("SELECT secret FROM t WHERE secret = 'b'").cached).toBe(false);
  });

  test("statements without any protected table name are not parsed at all", () => {
    const e = engine();
    const a = e.analyse("SELECT * FROM other_table WHERE x LIKE 'a%'");
    expect(a.plan.passthrough).toBe(true);
    expect(e.stats).toMatchObject({ passthrough: 1, hits: 0, misses: 0 });
  });

  test("negative literal into an encrypted column is replaced including its minus sign", () => {
    const e = engine();
    const { out } = enc("INSERT INTO t (id, secret) VALUES (1, -5)", e);
    expect(out).toBe("INSERT INTO t (id, secret) VALUES (1, 'E(-5)')");
  });

  test("quote continuation and E'' strings are one literal each", () => {
    const e = engine();
    const { out } = enc("SELECT id FROM t WHERE secret = 'a'\n  'b' AND secret <> E'c\\'d'", e);
    expect(out).toBe("SELECT id FROM t WHERE secret = 'E(a\n  b)' AND secret <> 'E(Ec\\d)'");
  });

  test("parse errors on a protected table are refused with 42601 and not cached", () => {
    const e = engine();
    const a = e.analyse("SELECT secret FROM t WHERE");
    expect(a.plan.refusal?.sqlstate).toBe("42601");
    expect(e.cacheSize).toBe(0);
  });

  test("U&'' strings flowing into an encrypted column are refused (not locatable by the fast scanner)", () => {
    const e = engine();
    const a = e.analyse("INSERT INTO t (id, secret) VALUES (1, U&'\\0041')");
    expect(a.plan.refusal?.message).toMatch(/U&/);
  });
});
