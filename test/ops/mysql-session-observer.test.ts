// The MySQL session observer (proxy/metrics-hooks-mysql.ts): alone with fake inner hooks it counts COM_QUERY /
// COM_STMT_EXECUTE by fixed kind and outcome (ERR 1142/1143 = denied, other refusals = refused), passes the
// inner layer's decisions through unchanged, installs row hooks only when the inner layer has them, and audits
// login / login_failed without values. End to end, `smgate start` with a MySQL listener, metrics and audit:
// mysql2 statements (text and prepared) move the mysql statement counters, a failed login is audited, and
// `smgate audit verify` passes.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_KEY_NAME } from "../../audit/chain.js";
import type { AuditEvent, AuditRecord } from "../../audit/record.js";
import { initKeyStore } from "../../keystore/open.js";
import { GatewayMetrics } from "../../proxy/metrics.js";
import { observeMysqlSessions } from "../../proxy/metrics-hooks-mysql.js";
import type { ExecuteParams, MysqlHooksFactory, MysqlSessionHooks } from "../../proxy/mysql/hooks.js";
import type { PendingResponse } from "../../proxy/mysql/pending.js";
import { MysqlSessionContext, type PreparedStatement } from "../../proxy/mysql/session-context.js";

const run = promisify(execFile);
const CLI = join(process.cwd(), "dist/cli/main.js");

async function value(m: GatewayMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const j = await m.registry.getMetricsAsJSON();
  const metric = j.find((x) => x.name === name);
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((a, v) => a + v.value, 0);
}

function ctx(): MysqlSessionContext {
  const c = new MysqlSessionContext(7, "10.0.0.9:5555");
  c.user = "alice";
  c.database = "clinic";
  c.app = "his";
  return c;
}

const request = { kind: "resultset", seqDelta: 0, command: 3, resultIndex: 0 } as PendingResponse;
const stmt = (sql: string) => ({ id: 1, sql, originalSql: sql, paramCount: 1 }) as PreparedStatement;
const params: ExecuteParams = { types: [{ type: 253, unsigned: false }], values: [Buffer.from("13800000001")] };

describe("MySQL session observer (unit)", () => {
  it("counts statements by kind and outcome and passes decisions through", async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const denied = { error: { code: 1142, state: "42000", message: "denied" } };
    const colDenied = { error: { code: 1143, state: "42000", message: "denied" } };
    const refused = { error: { code: 1235, state: "42000", message: "unsupported" } };
    const rewritten = { sql: "SELECT 2" };
    const ended: number[] = [];
    const inner: MysqlSessionHooks = {
      onQuery: (_c, _r, sql) =>
        sql.includes("phone") ? denied : sql.includes("LIKE") ? refused : sql === "SELECT 1" ? rewritten : undefined,
      onExecute: (_c, s) => (s.sql.includes("diagnosis") ? colDenied : undefined),
      onSessionEnd: (c) => ended.push(c.connectionId),
    };
    const factory = observeMysqlSessions(() => inner, { metrics });
    const c = ctx();
    const h = factory(c) as MysqlSessionHooks;
    expect(h.onQuery?.(c, request, "SELECT 1")).toBe(rewritten);
    expect(h.onQuery?.(c, request, "select phone from t where id = 13800000001")).toBe(denied);
    expect(h.onQuery?.(c, request, "/* x */ # y\n REPLACE INTO t VALUES (1)")).toBeUndefined();
    expect(h.onQuery?.(c, request, "SELECT note FROM t WHERE note LIKE '%secretword%'")).toBe(refused);
    expect(h.onExecute?.(c, stmt("UPDATE t SET note = ?"), params)).toBeUndefined();
    expect(h.onExecute?.(c, stmt("SELECT diagnosis FROM t WHERE id = ?"), params)).toBe(colDenied);
    expect(h.onPrepare?.(c, { sql: "secretword ?" })).toBeUndefined();
    h.onSessionEnd?.(c);
    expect(ended).toEqual([7]);

    const st = (kind: string, outcome: string) =>
      value(metrics, "smgate_statements_total", { protocol: "mysql", kind, outcome });
    expect(await st("select", "forwarded")).toBe(1);
    expect(await st("select", "denied")).toBe(2);
    expect(await st("select", "refused")).toBe(1);
    expect(await st("replace", "forwarded")).toBe(1);
    expect(await st("update", "forwarded")).toBe(1);
    // a prepare is not a statement run (its text bytes are counted)
    expect(await value(metrics, "smgate_statements_total", {})).toBe(6);
    const sent = [
      "SELECT 1",
      "select phone from t where id = 13800000001",
      "/* x */ # y\n REPLACE INTO t VALUES (1)",
      "SELECT note FROM t WHERE note LIKE '%secretword%'",
      "secretword ?",
    ].reduce((a, s) => a + Buffer.byteLength(s), 0);
    expect(await value(metrics, "smgate_statement_bytes_total", { protocol: "mysql", direction: "to_server" })).toBe(
      sent,
    );
    const text = await metrics.registry.metrics();
    expect(text).not.toContain("13800000001");
    expect(text).not.toContain("secretword");
  });

  it("installs row hooks only when the inner layer has them, and works without an inner layer", async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const bare = observeMysqlSessions(undefined, { metrics })(ctx()) as MysqlSessionHooks;
    expect(bare.onColumnDefinitions).toBeUndefined();
    expect(bare.onRows).toBeUndefined();
    expect(bare.ready).toBeUndefined();
    expect(bare.onQuery?.(ctx(), request, "SHOW TABLES")).toBeUndefined();
    expect(bare.onExecute?.(ctx(), stmt("DELETE FROM t WHERE id = ?"), params)).toBeUndefined();
    expect(await value(metrics, "smgate_statements_total", { kind: "show", outcome: "forwarded" })).toBe(1);
    expect(await value(metrics, "smgate_statements_total", { kind: "delete", outcome: "forwarded" })).toBe(1);

    const view = { columns: [] };
    const ready = Promise.resolve();
    const withRows = observeMysqlSessions(() => ({ onColumnDefinitions: () => view, onRows: () => undefined, ready }), {
      metrics,
    })(ctx()) as MysqlSessionHooks;
    expect(withRows.onColumnDefinitions?.(ctx(), request, [], false)).toBe(view);
    expect(withRows.onRows).toBeTypeOf("function");
    expect(withRows.ready).toBe(ready);
  });

  it("audits login on session creation and login_failed through onSessionRefused, without values", () => {
    const audit: AuditEvent[] = [];
    const innerRefused: number[] = [];
    const inner: MysqlHooksFactory = () => undefined;
    inner.onSessionRefused = (_c, errno) => innerRefused.push(errno);
    const factory = observeMysqlSessions(inner, { audit: { record: (e) => audit.push(e) } });
    factory(ctx());
    factory.onSessionRefused?.(ctx(), 1045);
    expect(innerRefused).toEqual([1045]);
    const who = { actor: "alice", app: "his", address: "10.0.0.9:5555", target: "clinic", action: "connect" };
    expect(audit).toEqual([
      { type: "login", ...who, outcome: "ok" },
      { type: "login_failed", ...who, outcome: "denied", detail: "1045" },
    ]);
  });
});

describe("smgate start: MySQL sessions observed", { timeout: 240_000 }, () => {
  const ENV = "SMG_MYOBS_MASTER";
  const master = randomBytes(16).toString("hex");
  const db = `smg_myobs_${randomBytes(4).toString("hex")}`;
  const badUser = `smg_nouser_${randomBytes(3).toString("hex")}`;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "smg-myobs-"));
    const ks = await initKeyStore(
      { provider: "env", path: join(dir, "ks.json"), master_key_env: ENV },
      { env: { [ENV]: master } },
    );
    ks.createKey(AUDIT_KEY_NAME);
    ks.save();
    ks.close();
    writeFileSync(join(dir, "policy.yaml"), "version: 1\n");
    writeFileSync(
      join(dir, "smgate.yaml"),
      [
        "mysql: { listen: 127.0.0.1:0, backend: 127.0.0.1:3306 }",
        `keystore: { provider: env, path: ./ks.json, master_key_env: ${ENV} }`,
        "policy: ./policy.yaml",
        "metrics: { listen: localhost:0 }", // 127.0.0.1:0 is taken by mysql.listen in the config check
        "audit: { path: ./audit.log }",
        "",
      ].join("\n"),
    );
    await run("mariadb", ["-h127.0.0.1", "-P3306", "-uroot", "-e", `CREATE DATABASE ${db}`]);
  }, 60_000);

  afterAll(async () => {
    await run("mariadb", ["-h127.0.0.1", "-P3306", "-uroot", "-e", `DROP DATABASE IF EXISTS ${db}`]);
  });

  it("counts mysql statements, audits login and login_failed, and the audit chain verifies", async () => {
    const env = { ...process.env, [ENV]: master };
    const child = spawn(
      process.execPath,
      [CLI, "start", "--config", join(dir, "smgate.yaml"), "--log-level", "silent"],
      {
        env,
      },
    );
    let scraped = "";
    let deniedErrno = "";
    const exited = new Promise((r) => child.once("exit", r));
    try {
      const ports = await new Promise<{ mysql: number; metrics: number }>((resolve, reject) => {
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => {
          out += d;
          const m = /mysql listening on [\d.]+:(\d+)/.exec(out);
          const mm = /metrics listening on \S+:(\d+)/.exec(out);
          if (m && mm) resolve({ mysql: Number(m[1]), metrics: Number(mm[1]) });
        });
        child.stderr.on("data", (d) => {
          err += d;
        });
        child.on("exit", (code) => reject(new Error(`smgate exited ${code}: ${out}${err}`)));
      });
      const conn = await mysql.createConnection({ host: "127.0.0.1", port: ports.mysql, user: "root", database: db });
      try {
        await conn.query("CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(50))");
        await conn.query("INSERT INTO t VALUES (1, 'secret-note-13800000001')");
        await conn.execute("INSERT INTO t VALUES (?, ?)", [2, "other-note"]);
        const [rows] = await conn.execute("SELECT note FROM t WHERE id = ?", [1]);
        expect(rows).toEqual([{ note: "secret-note-13800000001" }]);
        const [rows2] = await conn.query("SELECT COUNT(*) AS n FROM t");
        expect(rows2).toEqual([{ n: 2 }]);
      } finally {
        await conn.end();
      }
      const refused = await mysql
        .createConnection({ host: "127.0.0.1", port: ports.mysql, user: badUser, password: "wrong", database: db })
        .then(
          () => undefined,
          (e: { errno?: number }) => e,
        );
      // access denied: MariaDB answers an unknown user with 1045, or with 1698 while another session changes
      // accounts (seen once in a full parallel run); the audit must carry whichever code the server gave
      expect([1045, 1698]).toContain(refused?.errno);
      deniedErrno = String(refused?.errno);

      scraped = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    } finally {
      child.kill("SIGTERM");
      await exited;
    }

    const sum = (re: RegExp) =>
      scraped
        .split("\n")
        .filter((l) => re.test(l))
        .reduce((a, l) => a + Number(l.split(" ").pop()), 0);
    expect(sum(/^smgate_statements_total\{.*protocol="mysql".*kind="insert".*outcome="forwarded"/)).toBe(2);
    expect(sum(/^smgate_statements_total\{.*protocol="mysql".*kind="select".*outcome="forwarded"/)).toBe(2);
    expect(sum(/^smgate_statements_total\{.*protocol="mysql".*kind="create".*outcome="forwarded"/)).toBe(1);
    expect(sum(/^smgate_statement_bytes_total\{.*protocol="mysql".*direction="to_server"/)).toBeGreaterThan(0);
    expect(scraped).not.toContain("13800000001");
    expect(scraped).not.toContain("secret-note");

    const recs = readFileSync(join(dir, "audit.log"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditRecord);
    expect(recs).toContainEqual(expect.objectContaining({ type: "login", actor: "root", target: db, outcome: "ok" }));
    expect(recs).toContainEqual(
      expect.objectContaining({ type: "login_failed", actor: badUser, outcome: "denied", detail: deniedErrno }),
    );
    expect(readFileSync(join(dir, "audit.log"), "utf8")).not.toContain("secret-note");
    const v = await run(process.execPath, [CLI, "audit", "verify", "--config", join(dir, "smgate.yaml")], { env });
    expect(v.stdout).toMatch(/: OK, \d+ records, chain intact/);
  });
});
