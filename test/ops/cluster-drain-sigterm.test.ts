// SIGTERM to `smgate start --workers 2` drains: new connections are no longer accepted, an open transaction
// on an existing connection can still run statements and COMMIT, idle sessions are closed, and once every
// worker is done the gateway exits 0 (workers included) with the committed row stored, encrypted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminQuery } from "../pg-encrypt/encrypt-fixture.js";
import {
  makeOpsEnv,
  type OpsEnv,
  type RunningGateway,
  startGatewayProcess,
  stopGateway,
  workerPids,
} from "./gateway-process.js";

let env: OpsEnv;
let gw: RunningGateway | undefined;

beforeAll(async () => {
  env = await makeOpsEnv("drain");
  gw = await startGatewayProcess(env, ["--workers", "2", "--shutdown-timeout", "30000", "--log-level", "warn"]);
}, 300_000);

afterAll(async () => {
  await stopGateway(gw);
  await env?.drop();
});

describe("SIGTERM drains every worker", { timeout: 300_000 }, () => {
  it("lets an open transaction finish, refuses new connections, then exits 0", async () => {
    const g = gw as RunningGateway;
    const pids = await workerPids(g.pid);
    expect(pids).toHaveLength(2);
    const busy = g.client(env);
    const idle = g.client(env);
    await busy.connect();
    await idle.connect();
    const idleEnded = new Promise<void>((resolve) => idle.on("end", () => resolve()));
    idle.on("error", () => {});
    busy.on("error", () => {}); // the session is ended (57P01) once its transaction is over
    await busy.query("BEGIN");
    await busy.query("INSERT INTO ops_t (id, phone) VALUES (7, $1)", ["13600000007"]);

    let exited = false;
    g.exited.then(() => {
      exited = true;
    });
    g.signal("SIGTERM");
    await idleEnded; // the idle session is closed at once
    // the listener stops accepting
    await expect(
      (async () => {
        const late = g.client(env);
        late.on("error", () => {});
        await late.connect();
        await late.end();
      })(),
    ).rejects.toBeDefined();
    // the transaction is still alive and can finish
    expect(exited).toBe(false);
    await busy.query("UPDATE ops_t SET note = 'drained' WHERE id = 7");
    expect((await busy.query("SELECT phone FROM ops_t WHERE id = 7")).rows[0].phone).toBe("13600000007");
    await busy.query("COMMIT");
    const end = await g.exited;
    expect(end).toEqual({ code: 0, signal: null });
    gw = undefined;
    await busy.end().catch(() => undefined);
    expect(await workerPids(g.pid)).toEqual([]);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    const stored = (await adminQuery("SELECT phone, note FROM ops_t WHERE id = 7", env.db)).rows[0];
    expect(stored.note).toBe("drained");
    expect(stored.phone).toMatch(/^smg1:/);
  });
});
