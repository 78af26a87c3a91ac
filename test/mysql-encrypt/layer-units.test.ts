// The MySQL encryption layer without a server: canonical text forms, plaintext column definitions, `?`
// marker positions, ERR mapping, COM_STMT_PREPARE / COM_STMT_EXECUTE parameter encryption with hidden slot
// parameters (real MysqlAdapter over a fixed catalog), row batch decryption from column definitions, and
// fail-closed behaviour when the catalog cannot be loaded.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { initKeyStore } from "../../keystore/open.js";
import { compilePolicyText, PolicyHolder } from "../../policy/holder.js";
import { CodecError } from "../../proxy/codec/errors.js";
import type { ColumnDefinition } from "../../proxy/mysql/column-definition.js";
import { ColType } from "../../proxy/mysql/constants.js";
import type { CatalogRow } from "../../proxy/mysql/encrypt/catalog.js";
import { createMysqlEncryption } from "../../proxy/mysql/encrypt/index.js";
import { plaintextDefinition, serverTextForm, storedFormOf } from "../../proxy/mysql/encrypt/mysql-types.js";
import { isMysqlPreparedPlan, markerOffsets } from "../../proxy/mysql/encrypt/prepared-plan.js";
import { denialRefusal, refusalFromError } from "../../proxy/mysql/encrypt/refusals.js";
import type { PreparingStatement, RowBatch } from "../../proxy/mysql/hooks.js";
import type { PendingResponse } from "../../proxy/mysql/pending.js";
import { MysqlSessionContext, type PreparedStatement } from "../../proxy/mysql/session-context.js";

const b = (s: string) => Buffer.from(s);

describe("canonical text forms and shown types", () => {
  it("normalises integers, decimals and temporals as the server would store them", () => {
    expect(serverTextForm("int(11)", b("007")).toString()).toBe("7");
    expect(serverTextForm("bigint", b("-0")).toString()).toBe("0");
    expect(serverTextForm("decimal(10,2)", b("12.3")).toString()).toBe("12.30");
    expect(serverTextForm("decimal(10,2)", b("-0.00")).toString()).toBe("0.00");
    expect(serverTextForm("decimal(10,2)", b("1.234")).toString()).toBe("1.234"); // would round: left as sent
    expect(serverTextForm("date", b("2024-1-2")).toString()).toBe("2024-01-02");
    expect(serverTextForm("date", b("2024-01-02 00:00:00")).toString()).toBe("2024-01-02");
    expect(serverTextForm("datetime(3)", b("2024-01-02 3:04:05.5")).toString()).toBe("2024-01-02 03:04:05.500");
    expect(serverTextForm("varchar(10)", b(" 7 ")).toString()).toBe(" 7 ");
    expect(serverTextForm("int", b("abc")).toString()).toBe("abc");
  });

  it("stores envelopes raw in binary columns and as smg1: text elsewhere", () => {
    expect(storedFormOf("varbinary(16)")).toBe("raw");
    expect(storedFormOf("mediumblob")).toBe("raw");
    expect(storedFormOf("varchar(200)")).toBe("text");
    expect(storedFormOf("mediumtext")).toBe("text");
  });

  it("shows the policy's plaintext type", () => {
    const stored: ColumnDefinition = {
      schema: "db",
      table: "t",
      orgTable: "t",
      name: "c",
      orgName: "c",
      charset: 45,
      length: 800,
      type: ColType.VAR_STRING,
      flags: 0,
      decimals: 0,
    };
    expect(plaintextDefinition(stored, "integer", 45)).toMatchObject({ type: ColType.LONG, charset: 63 });
    expect(plaintextDefinition(stored, "date", 45)).toMatchObject({ type: ColType.DATE });
    expect(plaintextDefinition(stored, "datetime", 45)).toMatchObject({ type: ColType.DATETIME });
    expect(plaintextDefinition(stored, "decimal", 45)).toMatchObject({ type: ColType.NEWDECIMAL });
    expect(plaintextDefinition(stored, "blob", 45)).toMatchObject({ type: ColType.BLOB, charset: 63 });
    expect(plaintextDefinition(stored, "text", 45)).toBe(stored);
    expect(plaintextDefinition({ ...stored, charset: 63, type: ColType.BLOB }, "text", 33)).toMatchObject({
      type: ColType.BLOB,
      charset: 33,
    });
  });

  it("finds ? markers outside quoted identifiers", () => {
    expect(markerOffsets("SELECT ? FROM `a?b` WHERE x = ? AND y = \u0000s")).toEqual([7, 30]);
  });

  it("maps denials and codec errors to MySQL errors naming the column, never a value", () => {
    expect(denialRefusal("select", "bob", "db.t").error).toMatchObject({ code: 1142, state: "42000" });
    const col = denialRefusal("update", "bob", "db.t", "phone").error;
    expect(col).toMatchObject({ code: 1143, state: "42000" });
    expect(col.message).toContain("'phone'");
    const integrity = refusalFromError(
      new CodecError("integrity", "db.t.c", "integrity check failed for column db.t.c"),
    );
    expect(integrity.error).toMatchObject({ code: 1105 });
    expect(refusalFromError(new Error("secret value 42")).error.message).not.toContain("42");
  });
});

const CATALOG: CatalogRow[] = [
  ["id", "int(11)"],
  ["name", "varchar(200)"],
  ["name_bidx", "varbinary(16)"],
  ["balance", "decimal(10,2)"],
  ["balance_mac", "varbinary(16)"],
  ["birth", "varchar(100)"],
].map(([column, type]) => ({ schema: "db", table: "t", column, type }));

const POLICY = `
version: 1
tables:
  db.t:
    row_key: [id]
    columns:
      name:    { protect: encrypt, blind_index: true, key: k }
      balance: { protect: mac, type: decimal, key: k }
      birth:   { protect: encrypt, mode: deterministic, type: date, key: k }
access:
  - name: app
    match: { users: [app] }
    plaintext: [db.t.*]
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;

async function layer(catalogQuery: () => Promise<CatalogRow[]>) {
  const dir = mkdtempSync(join(tmpdir(), "smg-myenc-unit-"));
  const env = { SMG_MYENC_UNIT: randomBytes(16).toString("hex") };
  const ks = await initKeyStore(
    { provider: "env", path: join(dir, "ks.json"), master_key_env: "SMG_MYENC_UNIT" },
    { env },
  );
  ks.createKey("k");
  const compiled = compilePolicyText(POLICY, "policy.yaml");
  if (!compiled.ok) throw new Error("policy");
  const enc = await createMysqlEncryption({
    policy: new PolicyHolder(compiled.policy),
    keyRing: ks.keyRing(),
    catalogQuery,
  });
  const ctx = new MysqlSessionContext(1, "127.0.0.1");
  ctx.user = "app";
  ctx.database = "db";
  const hooks = enc.hooks(ctx)!;
  await hooks.ready;
  return { enc, ctx, hooks };
}

const pending = (extra: Partial<PendingResponse> = {}): PendingResponse => ({
  kind: "resultset",
  seqDelta: 0,
  command: 3,
  resultIndex: 0,
  ...extra,
});

describe("prepared statements: parameters encrypted, companion slots added as hidden parameters", () => {
  it("orders slot markers among the client's and fills them at execute", async () => {
    const { enc, ctx, hooks } = await layer(async () => CATALOG);
    const preparing: PreparingStatement = { sql: "INSERT INTO t (id, name, balance, birth) VALUES (?, ?, ?, ?)" };
    const r = hooks.onPrepare!(ctx, preparing);
    expect(r && "sql" in r).toBe(true);
    const sent = (r as { sql: string }).sql;
    const plan = preparing.plan;
    if (!isMysqlPreparedPlan(plan)) throw new Error("no plan");
    expect(plan.base).toBe(4);
    const serverParams = plan.serverParams!;
    expect(serverParams.filter((p) => "client" in p)).toHaveLength(4);
    expect(serverParams.filter((p) => "slot" in p)).toHaveLength(2);
    expect(sent.split("?").length - 1).toBe(6);
    // the prepare answer hides the two slot parameters from the client
    const defs = serverParams.map(() => ({}) as ColumnDefinition);
    const stmt = { plan, params: defs } as unknown as PreparedStatement;
    const view = hooks.onColumnDefinitions!(ctx, pending({ kind: "prepare", stmt }), defs, true);
    expect(view?.hide?.length).toBe(2);
    const out = hooks.onExecute!(ctx, stmt, {
      types: Array(4).fill({ type: ColType.VAR_STRING, unsigned: false }),
      values: [b("5"), b("Alice"), b("12.3"), b("1990-3-7")],
    });
    if (!out || !("params" in out)) throw new Error(`no params: ${JSON.stringify(out)}`);
    const values = out.params.values;
    expect(values).toHaveLength(6);
    const byRole = serverParams.map((p, i) => ({ p, v: values[i]!, t: out.params.types[i] }));
    const client = (n: number) => byRole.find((x) => "client" in x.p && x.p.client === n)!;
    expect(client(1).v.toString()).toBe("5");
    expect(client(2).v.toString()).toMatch(/^smg1:/);
    expect(client(3).v.toString()).toBe("12.3"); // MAC columns keep their value
    for (const s of byRole.filter((x) => "slot" in x.p)) {
      expect(s.v).toHaveLength(16); // raw VARBINARY(16) companions
      expect(s.t.type).toBe(ColType.BLOB);
    }
    // DET of the canonical date: the same envelope as the literal '1990-03-07' gets
    const lit = hooks.onQuery!(ctx, pending(), "SELECT id FROM t WHERE birth = '1990-03-07'") as { sql: string };
    expect(lit.sql).toContain(client(4).v.toString());
    enc.close();
  });

  it("decrypts a row batch from the column definitions' org_table / org_name and shows the plaintext type", async () => {
    const { enc, ctx, hooks } = await layer(async () => CATALOG);
    const envelope = (
      hooks.onQuery!(ctx, pending(), "SELECT id FROM t WHERE birth = '2001-02-03'") as { sql: string }
    ).sql.match(/'(smg1:[^']+)'/)![1];
    const def = (orgName: string, type: number): ColumnDefinition => ({
      schema: "db",
      table: "x",
      orgTable: "t",
      name: orgName,
      orgName,
      charset: 45,
      length: 400,
      type,
      flags: 0,
      decimals: 0,
    });
    const req = pending({ kind: "binary-resultset" });
    const view = hooks.onColumnDefinitions!(
      ctx,
      req,
      [def("id", ColType.LONG), def("birth", ColType.VAR_STRING)],
      false,
    );
    expect(view?.columns[1].type).toBe(ColType.DATE);
    const cells: (Buffer | null)[][] = [
      [b("1"), b(envelope)],
      [b("2"), null],
    ];
    const batch: RowBatch = {
      size: 2,
      columnCount: 2,
      get: (r, c) => cells[r][c],
      set: (r, c, v) => {
        cells[r][c] = v;
      },
    };
    expect(hooks.onRows!(ctx, req, batch)).toBeUndefined();
    expect(cells[0][1]?.toString()).toBe("2001-02-03");
    expect(cells[1][1]).toBeNull();
    // a tampered envelope is an integrity error, not garbage
    cells[0][1] = b(`${envelope.slice(0, -2)}AA`);
    expect(hooks.onRows!(ctx, req, batch)).toMatchObject({ error: { code: 1105 } });
    enc.close();
  });
});

describe("fail closed", () => {
  it("refuses statements on protected tables when the catalog cannot be loaded; others pass", async () => {
    const { enc, ctx, hooks } = await layer(async () => {
      throw new Error("server unreachable");
    });
    const r = hooks.onQuery!(ctx, pending(), "SELECT name FROM t WHERE id = 1");
    expect(r).toMatchObject({ error: { code: expect.any(Number) } });
    expect([1146, 1235]).toContain((r as { error: { code: number } }).error.code);
    expect(hooks.onQuery!(ctx, pending(), "SELECT 1")).toBeUndefined();
    enc.close();
  });
});
