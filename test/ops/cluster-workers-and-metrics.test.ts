// `smgate start --workers 2` against the real PostgreSQL: many clients are served and both workers get
// connections; /metrics (aggregated by the primary) is scraped during a workload and the SPEC §10 counters
// move — sessions, statements, bytes, field crypto, denials — with label values that are names only (no
// stored or sent value ever appears); a worker killed with SIGKILL is replaced and the gateway keeps serving.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminQuery } from "../pg-encrypt/encrypt-fixture.js";
import {
  makeOpsEnv,
  metricSum,
  type OpsEnv,
  type RunningGateway,
  samples,
  scrape,
  startGatewayProcess,
  stopGateway,
  workerPids,
} from "./gateway-process.js";

let env: OpsEnv;
let gw: RunningGateway;

beforeAll(async () => {
  env = await makeOpsEnv("workers", { metrics: true });
  gw = await startGatewayProcess(env, ["--workers", "2", "--log-level", "warn"]);
}, 300_000);

afterAll(async () => {
  await stopGateway(gw);
  await env?.drop();
});

const PHONE = (i: number) => `1390000${String(i).padStart(4, "0")}`;

describe("smgate start --workers 2", { timeout: 300_000 }, () => {
  it("serves many clients from both workers and /metrics shows the counters move, labels without values", async () => {
    const port = gw.metricsPort as number;
    expect(await workerPids(gw.pid)).toHaveLength(2);
    const before = await scrape(port);
    // 24 concurrent sessions, each writing and reading its own row through the encryption layer
    const clients = Array.from({ length: 24 }, () => gw.client(env));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      await Promise.all(
        clients.map(async (c, i) => {
          await c.query("INSERT INTO ops_t (id, phone, note) VALUES ($1, $2, $3)", [i, PHONE(i), `n${i}`]);
          const r = await c.query("SELECT phone FROM ops_t WHERE id = $1", [i]);
          expect(r.rows).toEqual([{ phone: PHONE(i) }]);
          await c.query(`SELECT phone, note FROM ops_t WHERE id = ${i}`);
        }),
      );
      const during = await scrape(port); // sessions still open
      const open = (w: string) => metricSum(during, "smgate_client_connections", { protocol: "pg", worker: w });
      expect(open("0")).toBeGreaterThan(0);
      expect(open("1")).toBeGreaterThan(0);
      expect(open("0") + open("1")).toBe(24);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    // a denied statement (app "other" falls to the default deny rule)
    const other = gw.client(env, "other");
    await other.connect();
    await expect(other.query("SELECT phone FROM ops_t")).rejects.toMatchObject({ code: "42501" });
    await other.end();

    const after = await scrape(port);
    const moved = (name: string, labels: Record<string, string> = {}) =>
      metricSum(after, name, labels) - metricSum(before, name, labels);
    expect(moved("smgate_client_connections_total", { protocol: "pg" })).toBe(25);
    expect(moved("smgate_client_connections_total", { worker: "0" })).toBeGreaterThan(0);
    expect(moved("smgate_client_connections_total", { worker: "1" })).toBeGreaterThan(0);
    expect(moved("smgate_statements_total", { kind: "insert", outcome: "forwarded" })).toBe(24);
    expect(moved("smgate_statements_total", { kind: "select", outcome: "forwarded" })).toBe(48);
    expect(moved("smgate_statements_total", { kind: "select", outcome: "denied" })).toBe(1);
    expect(moved("smgate_statement_bytes_total", { direction: "to_server" })).toBeGreaterThan(24 * 40);
    expect(moved("smgate_statement_bytes_total", { direction: "to_client" })).toBeGreaterThan(0);
    expect(moved("smgate_fields_total", { column: "public.ops_t.phone", action: "encrypted" })).toBe(24);
    expect(moved("smgate_fields_total", { column: "public.ops_t.phone", action: "decrypted" })).toBe(48);
    expect(moved("smgate_denials_total", { table: "public.ops_t", operation: "select" })).toBe(1);
    expect(metricSum(after, "smgate_shape_cache_total")).toBeGreaterThan(0);
    // the primary's own process metrics are part of the one exposition
    expect(samples(after).some((s) => s.labels.worker === "primary")).toBe(true);

    // labels are names: no phone number, note or other value sent or stored appears anywhere in the exposition
    const stored = (await adminQuery("SELECT phone FROM ops_t ORDER BY id", env.db)).rows.map((r) => r.phone);
    expect(stored[0]).toMatch(/^smg1:/);
    for (let i = 0; i < 24; i++) {
      expect(after).not.toContain(PHONE(i));
      expect(after).not.toContain(stored[i]);
      expect(after).not.toContain(`n${i}"`);
    }
    for (const s of samples(after)) {
      for (const v of Object.values(s.labels)) expect(v).toMatch(/^[A-Za-z0-9_.:+-]*$/);
    }
  });

  it("replaces a worker killed with SIGKILL and keeps serving", async () => {
    const before = await workerPids(gw.pid);
    expect(before).toHaveLength(2);
    process.kill(before[0], "SIGKILL");
    let now: number[] = [];
    for (let i = 0; i < 200; i++) {
      now = await workerPids(gw.pid);
      if (now.length === 2 && !now.includes(before[0])) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(now).toHaveLength(2);
    expect(now).not.toContain(before[0]);
    expect(now).toContain(before[1]);
    // the replacement serves too: enough fresh connections reach both workers again
    let restarts = 0;
    for (let i = 0; i < 100 && restarts === 0; i++) {
      restarts = metricSum(await scrape(gw.metricsPort as number), "smgate_worker_restarts_total");
      if (restarts === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(restarts).toBe(1);
    // wait until the replacement is ready (its registry shows up in the aggregate) before counting
    let metricsBefore = "";
    for (let tries = 0; tries < 200; tries++) {
      metricsBefore = await scrape(gw.metricsPort as number);
      if (samples(metricsBefore).filter((s) => s.name === "smgate_process_nodejs_version_info").length === 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(samples(metricsBefore).filter((s) => s.name === "smgate_process_nodejs_version_info")).toHaveLength(3);
    const clients = Array.from({ length: 8 }, () => gw.client(env));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      for (const c of clients)
        expect((await c.query("SELECT phone FROM ops_t WHERE id = 1")).rows[0].phone).toBe(PHONE(1));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    const after = await scrape(gw.metricsPort as number);
    const w0 = metricSum(after, "smgate_client_connections_total", { worker: "0" });
    const w1 = metricSum(after, "smgate_client_connections_total", { worker: "1" });
    const w0b = metricSum(metricsBefore, "smgate_client_connections_total", { worker: "0" });
    const w1b = metricSum(metricsBefore, "smgate_client_connections_total", { worker: "1" });
    expect(w0 - w0b + (w1 - w1b)).toBe(8);
    expect(w0 - w0b).toBeGreaterThan(0);
    expect(w1 - w1b).toBeGreaterThan(0);
  });
});
