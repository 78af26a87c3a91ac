// Failure handling: malformed/oversized messages from either side end only that connection (08P01), a
// dying server gives the client an error and later connections work, a client leaving mid-result releases
// its server backend, max_connections, backpressure on huge results, graceful shutdown.
import { connect } from "node:net";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../../proxy/server.js";
import { directClient, silentLogger, startTestGateway, type TestGateway } from "./gateway-fixture.js";
import {
  authOk,
  backendKeyData,
  dataRow1,
  type MockBackend,
  msg,
  readyForQuery,
  rowDescription1,
  startMockBackend,
} from "./mock-backend.js";
import { RawClient, serialize } from "./raw-client.js";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function realGateway(
  limits: { max_connections?: number; max_message_bytes?: number } = {},
): Promise<TestGateway> {
  const gw = await startTestGateway({ limits });
  cleanups.push(() => gw.stop(500));
  return gw;
}

async function mockGateway(
  script: Parameters<typeof startMockBackend>[0],
  port = 0,
): Promise<{ mock: MockBackend; port: number; gateway: Gateway }> {
  const mock = await startMockBackend(script);
  const gateway = await startGateway(
    {
      pg: { listen: "127.0.0.1:0", backend: `127.0.0.1:${port || mock.port}` },
      limits: { max_connections: 10, max_message_bytes: 1 << 20 },
    },
    { logger: silentLogger() },
  );
  cleanups.push(
    () => mock.close(),
    () => gateway.shutdown(500),
  );
  return { mock, port: gateway.pg!.address().port, gateway };
}

async function stillServes(port: number): Promise<void> {
  const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "test" });
  await c.connect();
  expect((await c.query("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
  await c.end();
}

const greet = (c: { socket: import("node:net").Socket }) =>
  c.socket.write(Buffer.concat([authOk(), backendKeyData(1, 1), readyForQuery()]));

describe("robustness", () => {
  it("answers a malformed client message with 08P01, closes that connection only", async () => {
    const gw = await realGateway({ max_message_bytes: 1 << 20 });
    const bad = [
      Buffer.from([0x51, 0, 0, 0, 2]), // length < 4
      Buffer.from([0x01, 0, 0, 0, 4]), // no such frontend message type
      Buffer.concat([Buffer.from([0x51]), Buffer.from([0, 0x20, 0, 0])]), // 2 MiB > limit of 1 MiB
    ];
    for (const b of bad) {
      const c = await RawClient.startup(gw.port);
      c.send(b);
      const [err] = await c.waitFor((m) => m.name === "error");
      expect(err).toMatchObject({ code: "08P01", severity: "FATAL" });
      await c.closedPromise();
    }
    // a malformed Bind inside a valid frame is the server's to judge; it also answers 08P01
    const c = await RawClient.startup(gw.port);
    c.send(serialize.parse({ text: "SELECT 1" }), Buffer.from([0x42, 0, 0, 0, 6, 0, 0]), serialize.sync());
    const err = (await c.waitFor((m) => m.name === "error")).at(-1);
    expect(err).toMatchObject({ code: "08P01" });
    c.end();
    await stillServes(gw.port);
  });

  it("mock: answers a malformed server message with 08P01 to the client", async () => {
    const { port } = await mockGateway(async (c) => {
      greet(c);
      await c.next();
      c.socket.write(Buffer.concat([rowDescription1("x"), Buffer.from([0x07, 0, 0, 0, 4])]));
    });
    const c = await RawClient.startup(port);
    c.send(serialize.query("SELECT 1"));
    const msgs = await c.waitFor((m) => m.name === "error");
    expect(msgs.map((m) => m.name)).toEqual(["rowDescription", "error"]);
    expect(msgs[1]).toMatchObject({ code: "08P01", severity: "FATAL" });
    expect((msgs[1] as unknown as { message: string }).message).toMatch(/invalid message from server/);
    await c.closedPromise();
  });

  it("mock: a server dying mid-result gives the client FATAL 08006; a later connection works once it is back", async () => {
    let n = 0;
    const { port, mock } = await mockGateway(async (c) => {
      n++;
      greet(c);
      const q = await c.next();
      if (n === 1) {
        c.socket.write(Buffer.concat([rowDescription1("x"), dataRow1("a")]));
        c.socket.destroy();
      } else if (q.type === "Q") {
        c.socket.write(Buffer.concat([rowDescription1("x"), dataRow1("b"), msg("C", "SELECT 1"), readyForQuery()]));
      }
    });
    const c = await RawClient.startup(port);
    c.send(serialize.query("SELECT 1"));
    const msgs = await c.waitFor((m) => m.name === "error");
    expect(msgs.map((m) => m.name)).toEqual(["rowDescription", "dataRow", "error"]);
    expect(msgs[2]).toMatchObject({ code: "08006", severity: "FATAL" });
    await c.closedPromise();
    // server "down": connections are refused with 08006, the gateway keeps running
    const backendPort = mock.port;
    await mock.close();
    const down = await RawClient.connect(port);
    down.send(serialize.startup({ user: "postgres", database: "test" }));
    const [e2] = await down.waitFor((m) => m.name === "error");
    expect(e2).toMatchObject({ code: "08006" });
    // and back on the same port
    const revived = await startMockBackendOn(backendPort);
    cleanups.push(() => revived.close());
    const c3 = await RawClient.startup(port);
    c3.send(serialize.query("SELECT 1"));
    const ok = await c3.untilReady();
    expect(ok.map((m) => m.name)).toContain("dataRow");
    c3.end();
  });

  it("mock: a server FATAL is relayed alone (no extra error from smgate when the server then closes)", async () => {
    const { port } = await mockGateway(async (c) => {
      c.socket.end(msg("E", Buffer.from("SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed\0\0")));
    });
    const c = await RawClient.connect(port);
    c.send(serialize.startup({ user: "u", database: "d" }));
    await c.closedPromise();
    expect(c.messages.map((m) => [m.name, (m as unknown as { code?: string }).code])).toEqual([["error", "28P01"]]);
  });

  it("real server: pg_terminate_backend gives the client 57P01 and new sessions work", async () => {
    const gw = await realGateway();
    const c = gw.client("test");
    await c.connect();
    const errors: unknown[] = [];
    c.on("error", (e) => errors.push(e));
    const pid = (await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
    const d = directClient();
    await d.connect();
    await d.query("SELECT pg_terminate_backend($1)", [pid]);
    await d.end();
    await expect(c.query("SELECT 1")).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 100));
    expect(errors.some((e) => (e as { code?: string }).code === "57P01")).toBe(true);
    // the server said why it closed: smgate adds no second error of its own
    expect(errors.some((e) => (e as { code?: string }).code === "08006")).toBe(false);
    await stillServes(gw.port);
  });

  it("real server: a client that disconnects mid-result releases its server backend", async () => {
    const gw = await realGateway();
    const c = await RawClient.startup(gw.port, { application_name: "smg_pg_leaver" });
    c.send(serialize.query("SELECT g, repeat('x', 100) FROM generate_series(1, 20000000) g"));
    await c.waitFor((m) => m.name === "dataRow");
    c.socket.destroy();
    const d = directClient();
    await d.connect();
    let left = 1;
    for (let i = 0; i < 100 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = (await d.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'smg_pg_leaver'"))
        .rows[0].n;
    }
    await d.end();
    expect(left).toBe(0);
  });

  it("real server: applies backpressure — a client that stops reading blocks the server in ClientWrite", async () => {
    const gw = await realGateway();
    const c = await RawClient.startup(gw.port, { application_name: "smg_pg_slowreader" });
    c.send(serialize.query("SELECT g, repeat('y', 500) FROM generate_series(1, 5000000) g"));
    await c.waitFor((m) => m.name === "dataRow");
    c.socket.pause();
    const rss0 = process.memoryUsage().rss;
    const d = directClient();
    await d.connect();
    let wait = "";
    for (let i = 0; i < 50 && wait !== "ClientWrite"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      wait =
        (await d.query("SELECT wait_event FROM pg_stat_activity WHERE application_name = 'smg_pg_slowreader'")).rows[0]
          ?.wait_event ?? "";
    }
    await new Promise((r) => setTimeout(r, 500));
    const grown = process.memoryUsage().rss - rss0;
    await d.end();
    expect(wait).toBe("ClientWrite");
    // the whole result is ~2.6 GB; what smgate holds while the client does not read stays small
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    c.socket.destroy();
  });

  it("limits.statement_timeout_ms cancels a statement running longer; idle transactions are left alone", async () => {
    const gw = await startTestGateway({ limits: { statement_timeout_ms: 400 } });
    cleanups.push(() => gw.stop(500));
    const c = gw.client("test");
    await c.connect();
    try {
      const t0 = Date.now();
      await expect(c.query("SELECT pg_sleep(10)")).rejects.toMatchObject({ code: "57014" });
      expect(Date.now() - t0).toBeLessThan(3000);
      expect((await c.query("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
      // idle in a transaction for longer than the timeout: nothing is cancelled
      await c.query("BEGIN");
      await new Promise((r) => setTimeout(r, 800));
      expect((await c.query("SELECT 2 AS ok")).rows).toEqual([{ ok: 2 }]);
      await c.query("COMMIT");
      // statements just under the limit complete
      await c.query("SELECT pg_sleep(0.1)");
    } finally {
      await c.end();
    }
  });

  it("refuses connections beyond max_connections with 53300", async () => {
    const gw = await realGateway({ max_connections: 2 });
    const a = await RawClient.startup(gw.port);
    const b = await RawClient.startup(gw.port);
    const x = await RawClient.connect(gw.port);
    x.send(serialize.startup({ user: "postgres", database: "test" }));
    const [err] = await x.waitFor((m) => m.name === "error");
    expect(err).toMatchObject({ code: "53300" });
    a.end();
    await a.closedPromise();
    await new Promise((r) => setTimeout(r, 100));
    const c = await RawClient.startup(gw.port);
    c.end();
    b.end();
    x.socket.destroy();
  });

  it("shuts down gracefully: idle sessions end at once, a transaction may finish, then the rest are terminated", async () => {
    const gw = await startTestGateway();
    const idle = await RawClient.startup(gw.port);
    const inTx = gw.client("test");
    await inTx.connect();
    const inTxErrors: unknown[] = [];
    inTx.on("error", (e) => inTxErrors.push(e));
    await inTx.query("BEGIN");
    await inTx.query("SELECT 1");
    const stuck = gw.client("test");
    await stuck.connect();
    stuck.on("error", () => {});
    await stuck.query("BEGIN");
    const started = Date.now();
    const done = gw.gateway.shutdown(1500);
    const [fatal] = await idle.waitFor((m) => m.name === "error");
    expect(fatal).toMatchObject({ code: "57P01", severity: "FATAL" });
    // new connections are no longer accepted
    await expect(
      new Promise((resolve, reject) => {
        const s = connect({ port: gw.port, host: "127.0.0.1" });
        s.on("connect", () => resolve(s));
        s.on("error", reject);
      }),
    ).rejects.toThrow();
    // the open transaction can still commit; then its session is closed
    await inTx.query("SELECT 2");
    await inTx.query("COMMIT");
    await done;
    // `stuck` never finished its transaction: terminated at the deadline
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    await expect(stuck.query("SELECT 1")).rejects.toThrow();
    expect(gw.gateway.pg!.sessions.size).toBe(0);
  });
});

async function startMockBackendOn(port: number): Promise<MockBackend> {
  // a mock backend bound to a given port (to bring "the server" back where the gateway expects it)
  const { createServer } = await import("node:net");
  const m = await startMockBackend(async (c) => {
    greet(c);
    await c.next();
    c.socket.write(Buffer.concat([rowDescription1("x"), dataRow1("back"), msg("C", "SELECT 1"), readyForQuery()]));
  });
  await new Promise<void>((r) => m.server.close(() => r()));
  const s = createServer();
  s.on("connection", (sock) => m.server.emit("connection", sock));
  await new Promise<void>((r) => s.listen(port, "127.0.0.1", () => r()));
  return { ...m, port, server: s, close: () => new Promise<void>((r) => s.close(() => r())) };
}
