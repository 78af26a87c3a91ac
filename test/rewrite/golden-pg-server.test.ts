// Every rewritten golden statement is valid SQL for a real PostgreSQL 15: the golden catalog is created in a
// scratch database and each rewritten statement (encrypted literals → text literals, computed slots →
// NULL) is PREPAREd (which parses, resolves names and types without executing).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { applyRewrites, PostgresAdapter } from "../../proxy/rewrite/index.js";
import { engineFor, type GoldenCase, loadGoldenCases } from "./golden-harness.js";

const adapter = new PostgresAdapter();
const DB = `smg_rewrite_${randomBytes(4).toString("hex")}`;
const conn = { host: "127.0.0.1", port: 5432, user: "postgres" };
let client: pg.Client;
let available = true;

const columnType = (c: string) =>
  /(^id$|_id$)/.test(c)
    ? "integer"
    : c === "balance" || c === "amount"
      ? "numeric"
      : c.endsWith("_bidx") || c.endsWith("_mac")
        ? "bytea"
        : "text";

beforeAll(async () => {
  await adapter.init();
  const admin = new pg.Client({ ...conn, database: "test" });
  try {
    await admin.connect();
  } catch {
    available = false;
    return;
  }
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.end();
  client = new pg.Client({ ...conn, database: DB });
  await client.connect();
  const { catalog } = parse(readFileSync(join(import.meta.dirname, "golden", "_schema.yaml"), "utf8")) as {
    catalog: Record<string, string[]>;
  };
  for (const [qualified, cols] of Object.entries(catalog)) {
    const [schema, table] = qualified.split(".");
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE ${schema}.${table} (${cols.map((c) => `${c} ${columnType(c)}${c === "id" ? " PRIMARY KEY" : ""}`).join(", ")})`,
    );
  }
});

afterAll(async () => {
  if (!available) return;
  await client.end();
  const admin = new pg.Client({ ...conn, database: "test" });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.end();
});

const SKIP = new Set(["EXPLAIN", "COPY", "LOCK", "TRUNCATE"]);

function rewritten(c: GoldenCase): string | undefined {
  const a = engineFor(c, adapter).analyse(c.sql, { searchPath: c.search_path });
  if (a.plan.refusal || a.plan.passthrough || c.catalog || c.sql.includes(";")) return undefined;
  if (SKIP.has(c.sql.trim().split(/\s+/)[0].toUpperCase())) return undefined;
  const literals = new Map(a.plan.literals.map((l) => [l.ordinal, "'smg1:AAAA'"]));
  return applyRewrites(c.sql, a.shape, a.plan, { literals, slots: a.plan.slots.map(() => "NULL") });
}

describe("rewritten golden statements prepare on PostgreSQL 15", () => {
  const cases = loadGoldenCases().filter((c) => !c.dialects || c.dialects.includes("postgresql"));
  for (const c of cases) {
    test(c.file, async (ctx) => {
      if (!available) ctx.skip();
      const sql = rewritten(c);
      if (sql === undefined) return;
      const sp = c.search_path ? `${c.search_path.join(", ")}` : "public";
      await client.query(`SET search_path = ${sp}`);
      const name = `s_${c.file.replace(/\W/g, "_")}`;
      await expect(client.query(`PREPARE ${name} AS ${sql}`)).resolves.toBeDefined();
      await client.query(`DEALLOCATE ${name}`);
      prepared++;
    });
  }
  test("most analysable cases were prepared", (ctx) => {
    if (!available) ctx.skip();
    expect(prepared).toBeGreaterThanOrEqual(45);
  });
});

let prepared = 0;
