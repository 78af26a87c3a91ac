// Every MySQL golden statement is valid for the real MariaDB 10.11, and every rewritten one prepares there:
// the golden catalog is created in scratch databases (unique names, mapped in the statement text) and each
// statement is sent as COM_STMT_PREPARE (parses and resolves names and types without executing). Originals
// may fail name resolution on purpose (unknown tables) but never with a syntax error; rewritten statements
// (encrypted literals → string literals, computed slots → NULL) must prepare.
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { applyRewrites, MysqlAdapter } from "../../proxy/rewrite/index.js";
import { engineFor, GOLDEN_MYSQL_DIR, type GoldenCase, loadGoldenCases, sharedSchema } from "./golden-harness.js";

const adapter = new MysqlAdapter();
const suffix = randomBytes(4).toString("hex");
const conn = { host: "127.0.0.1", port: 3306, user: "root", multipleStatements: false };
let client: mysql.Connection;
let available = true;
const schema = sharedSchema(GOLDEN_MYSQL_DIR);
const databases = [...new Set(Object.keys(schema.catalog).map((q) => q.split(".")[0]))];
/** Golden database name → the scratch database standing in for it. */
const mapped = (db: string) => `smg_rw_${suffix}_${db}`;

const columnType = (c: string) =>
  /(^id$|_id$)/.test(c)
    ? "INT"
    : c === "balance" || c === "amount"
      ? "DECIMAL(12,2)"
      : c.endsWith("_bidx") || c.endsWith("_mac")
        ? "VARBINARY(64)"
        : "VARCHAR(255)";

/** The statement with golden database names replaced by the scratch ones (identifiers only, never literals). */
function mapDatabases(sql: string): string {
  return sql.replace(
    new RegExp(`(?<![\\w'])(\`?)(${databases.join("|")})\\1(?=\\s*[.;]|\\s*$)`, "g"),
    (_m, q, db) => `${q}${mapped(db)}${q}`,
  );
}

beforeAll(async () => {
  try {
    client = await mysql.createConnection(conn);
  } catch {
    available = false;
    return;
  }
  for (const db of databases) await client.query(`CREATE DATABASE ${mapped(db)}`);
  for (const [qualified, cols] of Object.entries(schema.catalog) as [string, string[]][]) {
    const [db, table] = qualified.split(".");
    const partition = table === "contacts" ? " PARTITION BY HASH(id) PARTITIONS 1" : "";
    await client.query(
      `CREATE TABLE ${mapped(db)}.${table} (${cols.map((c) => `${c} ${columnType(c)}`).join(", ")}, PRIMARY KEY (id))${partition}`,
    );
  }
});

afterAll(async () => {
  if (!available) return;
  for (const db of databases) await client.query(`DROP DATABASE IF EXISTS ${mapped(db)}`);
  await client.end();
});

const DML = /^\s*(\(|SELECT|INSERT|REPLACE|UPDATE|DELETE|WITH)\b/i;

function rewritten(c: GoldenCase): string | undefined {
  const a = engineFor(c, adapter).analyse(c.sql, { searchPath: c.search_path ?? schema.search_path });
  if (a.plan.refusal || a.plan.passthrough) return undefined;
  const literals = new Map(a.plan.literals.map((l) => [l.ordinal, "'smg1:AAAA'"]));
  return applyRewrites(c.sql, a.shape, a.plan, { literals, slots: a.plan.slots.map(() => "NULL") });
}

async function prepare(sql: string, db: string): Promise<void> {
  await client.query(`USE ${mapped(db)}`);
  const stmt = await client.prepare(mapDatabases(sql));
  await stmt.close();
}

let prepared = 0;

describe("golden MySQL statements on MariaDB 10.11", () => {
  const cases = loadGoldenCases(GOLDEN_MYSQL_DIR).filter(
    (c) => DML.test(c.sql) && !c.sql.includes(";") && !c.catalog && !/\/\*M?!|@/.test(c.sql),
  );
  for (const c of cases) {
    test(c.file, async (ctx) => {
      if (!available) ctx.skip();
      const db = (c.search_path ?? schema.search_path ?? ["clinic"])[0];
      // the original: never a syntax error (ER_PARSE_ERROR 1064) unless the case is about a parser limit
      const original = await prepare(c.sql, db).then(
        () => undefined,
        (e: { errno?: number }) => e.errno,
      );
      if (c.expect.sqlstate !== "42601") expect(original, "original statement").not.toBe(1064);
      const sql = rewritten(c);
      if (sql === undefined || sql === c.sql) return;
      await expect(prepare(sql, db)).resolves.toBeUndefined();
      prepared++;
    });
  }
  test("most rewritten cases were prepared", (ctx) => {
    if (!available) ctx.skip();
    expect(prepared).toBeGreaterThanOrEqual(25);
  });
});
