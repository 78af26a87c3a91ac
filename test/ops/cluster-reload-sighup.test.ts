// SIGHUP to `smgate start --workers 2` reloads the policy in every worker while a workload runs on existing
// connections spread over both workers: ops_t.phone turns from plaintext to masked for every statement that
// starts after the reload was confirmed, no statement fails; a broken policy is refused with file:line:col
// and changes nothing anywhere; reloading the original policy brings plaintext back.
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminQuery } from "../pg-encrypt/encrypt-fixture.js";
import {
  makeOpsEnv,
  metricSum,
  type OpsEnv,
  opsPolicy,
  type RunningGateway,
  scrape,
  startGatewayProcess,
  stopGateway,
} from "./gateway-process.js";

let env: OpsEnv;
let gw: RunningGateway;
const PLAIN = "13900000001";
const MASKED = /^139\*+0001$/;

beforeAll(async () => {
  env = await makeOpsEnv("sighup", { metrics: true });
  gw = await startGatewayProcess(env, ["--workers", "2", "--log-level", "warn"]);
  const c = gw.client(env);
  await c.connect();
  await c.query("INSERT INTO ops_t (id, phone) VALUES (1, $1)", [PLAIN]);
  await c.end();
}, 300_000);

afterAll(async () => {
  await stopGateway(gw);
  await env?.drop();
});

interface Observation {
  startedAfter: number;
  phone: string;
}

/** Runs statements on every client until stopped; records each result with the reload epoch it started in. */
function workload(clients: pg.Client[], epoch: () => number) {
  const seen: Observation[] = [];
  const errors: unknown[] = [];
  let running = true;
  const loops = clients.map(async (c, i) => {
    while (running) {
      const startedAfter = epoch();
      try {
        const r =
          i % 2 === 0
            ? await c.query("SELECT phone FROM ops_t WHERE id = $1", [1])
            : await c.query("SELECT phone FROM ops_t WHERE id = 1");
        seen.push({ startedAfter, phone: r.rows[0].phone });
      } catch (e) {
        errors.push(e);
      }
    }
  });
  return {
    seen,
    errors,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function reloadAndWait(expect: RegExp): Promise<string> {
  const from = gw.stdout.length;
  gw.signal("SIGHUP");
  return gw.waitFor(expect, from);
}

describe("SIGHUP reload with --workers 2", { timeout: 300_000 }, () => {
  it("switches every worker to the new policy for new statements on existing connections, without failures", async () => {
    expect((await adminQuery("SELECT phone FROM ops_t WHERE id = 1", env.db)).rows[0].phone).toMatch(/^smg1:/);
    const clients = Array.from({ length: 8 }, () => gw.client(env));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const m = await scrape(gw.metricsPort as number);
      expect(metricSum(m, "smgate_client_connections", { worker: "0" })).toBeGreaterThan(0);
      expect(metricSum(m, "smgate_client_connections", { worker: "1" })).toBeGreaterThan(0);

      let epoch = 0;
      const w = workload(clients, () => epoch);
      await new Promise((r) => setTimeout(r, 500));
      env.writePolicy(opsPolicy({ masked: true }));
      const ok = await reloadAndWait(/^smgate: reload (ok|refused|failed)/);
      expect(ok).toMatch(/^smgate: reload ok generation 2 \(2 workers confirmed\)/);
      epoch = 1;
      await new Promise((r) => setTimeout(r, 500));

      // a broken policy: refused with file:line:col, nothing changes anywhere
      env.writePolicy(opsPolicy({ masked: true }).replace("protect: encrypt", "protect: encrpyt"));
      const refused = await reloadAndWait(/^smgate: reload (ok|refused|failed)/);
      expect(refused).toMatch(/^smgate: reload refused: .*policy\.yaml:\d+:\d+: /);
      await new Promise((r) => setTimeout(r, 500));
      await w.stop();

      expect(w.errors).toEqual([]);
      const before = w.seen.filter((o) => o.startedAfter === 0);
      const after = w.seen.filter((o) => o.startedAfter === 1);
      expect(before.length).toBeGreaterThan(0);
      expect(after.length).toBeGreaterThan(16);
      for (const o of before) expect(o.phone === PLAIN || MASKED.test(o.phone)).toBe(true);
      for (const o of after) expect(o.phone).toMatch(MASKED);
      // every connection (both workers) saw the masked value after the reload
      for (const c of clients)
        expect((await c.query("SELECT phone FROM ops_t WHERE id = 1")).rows[0].phone).toMatch(MASKED);

      // the original policy again: plaintext on the same connections
      env.writePolicy(opsPolicy());
      expect(await reloadAndWait(/^smgate: reload (ok|refused|failed)/)).toMatch(/^smgate: reload ok generation 3/);
      for (const c of clients)
        expect((await c.query("SELECT phone FROM ops_t WHERE id = $1", [1])).rows[0].phone).toBe(PLAIN);
      const after2 = await scrape(gw.metricsPort as number);
      expect(metricSum(after2, "smgate_policy_reloads_total", { result: "ok" })).toBe(2);
      expect(metricSum(after2, "smgate_policy_reloads_total", { result: "rejected" })).toBe(1);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});
