// `smgate start --workers 2` with admin and audit configured: POST /reload (operator certificate) reloads the
// policy in both workers (masked on existing connections), a broken policy is refused with 422 and
// file:line:col while the running policy stays; other roles are refused 403; the audit log written by the
// primary holds login, failed login, denial, integrity failure, policy change, refused reload, admin action,
// startup and shutdown records — never a column value — and `smgate audit verify` passes on it.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../audit/record.js";
import { SQLSTATE_INTEGRITY } from "../../proxy/pg/encrypt/refusals.js";
import { adminQuery } from "../pg-encrypt/encrypt-fixture.js";
import {
  adminCall,
  CLI,
  makeOpsEnv,
  type OpsEnv,
  opsPolicy,
  ROLE_CNS,
  type RunningGateway,
  startGatewayProcess,
  stopGateway,
} from "./gateway-process.js";

const run = promisify(execFile);
let env: OpsEnv;
let gw: RunningGateway | undefined;
const PLAIN = "13700000042";
const MASKED = /^137\*+0042$/;

beforeAll(async () => {
  env = await makeOpsEnv("admin", { admin: true, audit: true });
  gw = await startGatewayProcess(env, ["--workers", "2", "--log-level", "warn"]);
}, 300_000);

afterAll(async () => {
  await stopGateway(gw);
  await env?.drop();
});

const cert = (role: keyof typeof ROLE_CNS) => env.pki?.clients[ROLE_CNS[role]];

function auditRecords(): AuditRecord[] {
  return readFileSync(join(env.dir, "audit.log"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditRecord);
}

describe("admin API and audit log of smgate start", { timeout: 300_000 }, () => {
  it("POST /reload reloads every worker; a broken policy is refused with file:line:col; all of it is audited", async () => {
    const g = gw as RunningGateway;
    const port = g.adminPort as number;
    expect(port).toBeGreaterThan(0);
    const clients: pg.Client[] = Array.from({ length: 6 }, () => g.client(env));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      await clients[0].query("INSERT INTO ops_t (id, phone, note) VALUES (42, $1, 'secret-note')", [PLAIN]);
      for (const c of clients)
        expect((await c.query("SELECT phone FROM ops_t WHERE id = 42")).rows[0].phone).toBe(PLAIN);

      // only the operator may reload
      expect((await adminCall(env, port, cert("auditor"), "POST", "/reload")).status).toBe(403);
      expect((await adminCall(env, port, cert("application"), "POST", "/reload")).status).toBe(403);

      env.writePolicy(opsPolicy({ masked: true }));
      const r = await adminCall(env, port, cert("operator"), "POST", "/reload");
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ ok: true, generation: 2 });
      const workers = (r.json as { workers: { slot: number; ok: boolean; digest: string }[] }).workers;
      expect(workers.map((w) => w.slot).sort()).toEqual([0, 1]);
      expect(workers.every((w) => w.ok)).toBe(true);
      for (const c of clients)
        expect((await c.query("SELECT phone FROM ops_t WHERE id = $1", [42])).rows[0].phone).toMatch(MASKED);

      // a broken file: 422 with file:line:col, and the masked policy stays in force everywhere
      env.writePolicy(opsPolicy().replace("    columns:\n", "    columns:\n   bad-indent: [\n"));
      const bad = await adminCall(env, port, cert("operator"), "POST", "/reload");
      expect(bad.status).toBe(422);
      const problems = (bad.json as { ok: boolean; problems: string[] }).problems;
      expect((bad.json as { ok: boolean }).ok).toBe(false);
      expect(problems[0]).toMatch(/policy\.yaml:\d+:\d+: /);
      for (const c of clients)
        expect((await c.query("SELECT phone FROM ops_t WHERE id = 42")).rows[0].phone).toMatch(MASKED);

      const status = await adminCall(env, port, cert("operator"), "GET", "/status");
      expect(status.status).toBe(200);
      expect(status.json).toMatchObject({ policy: { generation: 2 } });
      expect((status.json as { workers: { state: string }[] }).workers.map((w) => w.state)).toEqual(["ready", "ready"]);
      const metrics = await adminCall(env, port, cert("operator"), "GET", "/metrics");
      expect(metrics.text).toMatch(/smgate_client_connections_total\{protocol="pg",worker="[01]"\} \d+/);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    // a denied statement and a failed login
    const other = g.client(env, "other");
    await other.connect();
    await expect(other.query("SELECT phone FROM ops_t")).rejects.toMatchObject({ code: "42501" });
    await other.end();
    const { default: pgMod } = await import("pg");
    const ghost = new pgMod.Client({
      host: "127.0.0.1",
      port: g.pgPort,
      user: "smg_ops_no_such_role",
      database: env.db,
    });
    await expect(ghost.connect()).rejects.toMatchObject({ code: "28000" });

    // a stored value tampered with on the server: the read is refused and an integrity failure audited
    await adminQuery(
      "UPDATE ops_t SET phone = overlay(phone placing (CASE WHEN substr(phone, length(phone) - 4, 1) = 'A' THEN 'B' ELSE 'A' END) from length(phone) - 4 for 1) WHERE id = 42",
      env.db,
    );
    const reader = g.client(env);
    await reader.connect();
    await expect(reader.query("SELECT phone FROM ops_t WHERE id = 42")).rejects.toMatchObject({
      code: SQLSTATE_INTEGRITY,
    });
    await reader.end();

    // the auditor reads the log through the API while it runs
    const viaApi = await adminCall(env, port, cert("auditor"), "GET", "/audit?type=policy_change");
    expect(viaApi.status).toBe(200);
    expect((viaApi.json as { records: AuditRecord[] }).records.length).toBeGreaterThan(0);
    expect((await adminCall(env, port, cert("auditor"), "GET", "/audit/verify")).json).toMatchObject({ ok: true });

    await stopGateway(g);
    expect(await g.exited).toEqual({ code: 0, signal: null });
    gw = undefined;

    const recs = auditRecords();
    const of = (type: string) => recs.filter((x) => x.type === type);
    expect(of("startup")).toHaveLength(1);
    expect(of("shutdown")).toHaveLength(1);
    expect(of("login").length).toBeGreaterThanOrEqual(7);
    expect(of("login")[0]).toMatchObject({ actor: "postgres", app: "his", target: env.db, outcome: "ok" });
    expect(of("login_failed")).toEqual([expect.objectContaining({ actor: "smg_ops_no_such_role", detail: "28000" })]);
    expect(of("denial")).toEqual([
      expect.objectContaining({
        actor: "postgres",
        app: "other",
        target: expect.stringMatching(/^public\.ops_t/),
        action: "select",
      }),
    ]);
    expect(of("integrity_failure")).toEqual([
      expect.objectContaining({ target: "public.ops_t.phone", action: "select", outcome: "failed" }),
    ]);
    expect(of("policy_change")).toEqual([
      expect.objectContaining({ actor: "admin-api", action: "reload", outcome: "ok" }),
    ]);
    expect(of("policy_reload_failed")).toEqual([
      expect.objectContaining({
        action: "reload",
        outcome: "refused",
        detail: expect.stringMatching(/policy\.yaml:\d+:\d+/),
      }),
    ]);
    const admin = of("admin_action");
    expect(admin).toContainEqual(
      expect.objectContaining({ actor: ROLE_CNS.operator, action: "reload", outcome: "ok" }),
    );
    expect(admin).toContainEqual(
      expect.objectContaining({ actor: ROLE_CNS.operator, action: "reload", outcome: "failed" }),
    );
    expect(admin).toContainEqual(
      expect.objectContaining({ actor: ROLE_CNS.auditor, action: "reload", outcome: "denied" }),
    );
    // records from both workers and the primary share one chain: seq is 1..n without gaps
    expect(recs.map((x) => x.seq)).toEqual(recs.map((_, i) => i + 1));
    const text = readFileSync(join(env.dir, "audit.log"), "utf8");
    expect(text).not.toContain(PLAIN);
    expect(text).not.toContain("secret-note");

    const v = await run(process.execPath, [CLI, "audit", "verify", "--config", env.configPath], { env: env.env });
    expect(v.stdout).toMatch(/: OK, \d+ records, chain intact/);
  });
});
