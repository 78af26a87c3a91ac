// `smgate start` with the default single process (no --workers): SIGHUP applies a new policy to existing
// connections, a broken file is refused with file:line:col and changes nothing, /metrics (worker="0") shows
// sessions, statements and reloads, and SIGTERM exits 0 with no worker processes ever forked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  makeOpsEnv,
  metricSum,
  type OpsEnv,
  opsPolicy,
  type RunningGateway,
  scrape,
  startGatewayProcess,
  stopGateway,
  workerPids,
} from "./gateway-process.js";

let env: OpsEnv;
let gw: RunningGateway | undefined;

beforeAll(async () => {
  env = await makeOpsEnv("single", { metrics: true });
  gw = await startGatewayProcess(env, ["--log-level", "warn"]);
}, 300_000);

afterAll(async () => {
  await stopGateway(gw);
  await env?.drop();
});

describe("smgate start in one process", { timeout: 300_000 }, () => {
  it("reloads on SIGHUP, refuses a broken policy, counts, and stops cleanly", async () => {
    const g = gw as RunningGateway;
    expect(g.stdout).toContain("smgate: ready (1 worker)");
    expect(await workerPids(g.pid)).toEqual([]);
    const c = g.client(env);
    await c.connect();
    try {
      await c.query("INSERT INTO ops_t (id, phone) VALUES (5, $1)", ["13500000005"]);
      expect((await c.query("SELECT phone FROM ops_t WHERE id = 5")).rows[0].phone).toBe("13500000005");

      env.writePolicy(opsPolicy({ masked: true }));
      let from = g.stdout.length;
      g.signal("SIGHUP");
      expect(await g.waitFor(/^smgate: reload /, from)).toBe("smgate: reload ok generation 2 (1 worker confirmed)");
      expect((await c.query("SELECT phone FROM ops_t WHERE id = $1", [5])).rows[0].phone).toMatch(/^135\*+0005$/);

      env.writePolicy("version: 1\ntables: [oops\n");
      from = g.stdout.length;
      g.signal("SIGHUP");
      expect(await g.waitFor(/^smgate: reload /, from)).toMatch(/^smgate: reload refused: .*policy\.yaml:\d+:\d+: /);
      expect((await c.query("SELECT phone FROM ops_t WHERE id = 5")).rows[0].phone).toMatch(/^135\*+0005$/);
    } finally {
      await c.end();
    }
    const m = await scrape(g.metricsPort as number);
    expect(metricSum(m, "smgate_client_connections_total", { protocol: "pg", worker: "0" })).toBe(1);
    expect(metricSum(m, "smgate_statements_total", { worker: "0", outcome: "forwarded" })).toBe(4);
    expect(metricSum(m, "smgate_policy_reloads_total", { result: "ok" })).toBe(1);
    expect(metricSum(m, "smgate_policy_reloads_total", { result: "rejected" })).toBe(1);
    expect(metricSum(m, "smgate_fields_total", { action: "masked" })).toBe(2);
    g.signal("SIGTERM");
    expect(await g.exited).toEqual({ code: 0, signal: null });
    gw = undefined;
  });
});
