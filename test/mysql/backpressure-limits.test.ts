// Flow control and limits: a client that stops reading makes the gateway stop reading the server (memory stays
// flat while a 60 MB result waits), every byte arrives once the client reads again; max_connections refuses the
// extra client with ERR 1040; an unreachable backend gives ERR 2013.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MysqlGateway, startMysqlGateway } from "../../proxy/mysql/index.js";
import { createDatabase, dropDatabase, silentLogger, startGateway } from "./gateway-harness.js";
import { packet } from "./mock-server.js";
import { RawClient } from "./raw-client.js";

let gw: MysqlGateway;
let db: string;

beforeAll(async () => {
  db = await createDatabase("smg_mysql_bp");
  gw = await startGateway();
});

afterAll(async () => {
  await gw?.close();
  await dropDatabase(db);
});

describe("backpressure", () => {
  it("pauses the server leg while the client does not read; memory stays flat", async () => {
    const c = await RawClient.connect(gw.address().port);
    expect((await c.loginNative("root", db, false)).payload[0]).toBe(0x00);
    // ~60 MB of rows
    c.write(packet(Buffer.from("\x03SELECT seq, REPEAT('x', 300) AS pad FROM seq_1_to_200000", "latin1"), 0));
    c.socket.pause();
    global.gc?.();
    const before = process.memoryUsage().arrayBuffers;
    await new Promise((r) => setTimeout(r, 2000));
    const during = process.memoryUsage().arrayBuffers;
    expect(during - before).toBeLessThan(16 * 1024 * 1024);
    // now read everything: 200,000 rows + column defs + EOFs
    c.socket.resume();
    let rows = 0;
    let bytes = 0;
    for (;;) {
      const p = await c.read(5000);
      if (!p) break;
      bytes += p.payload.length;
      if (p.payload[0] === 0xfe && p.payload.length < 9) {
        if (rows > 0) break;
        continue;
      }
      if (p.payload.length > 300) rows++;
    }
    expect(rows).toBe(200_000);
    expect(bytes).toBeGreaterThan(60_000_000);
    c.close();
  });
});

describe("limits", () => {
  it("refuses connections beyond maxConnections with ERR 1040", async () => {
    const small = await startGateway({ maxConnections: 1 });
    try {
      const a = await RawClient.connect(small.address().port);
      expect((await a.loginNative("root", undefined, false)).payload[0]).toBe(0x00);
      const b = await RawClient.connect(small.address().port);
      const p = await b.read();
      expect(p?.payload[0]).toBe(0xff);
      expect(p?.payload.readUInt16LE(1)).toBe(1040);
      a.close();
      b.close();
    } finally {
      await small.close();
    }
  });

  it("answers ERR 2013 when the backend cannot be reached", async () => {
    const dead = await startMysqlGateway({ listen: "127.0.0.1:0", backend: "127.0.0.1:1", logger: silentLogger });
    try {
      const c = await RawClient.connect(dead.address().port);
      const p = await c.read();
      expect(p?.payload[0]).toBe(0xff);
      expect(p?.payload.readUInt16LE(1)).toBe(2013);
      c.close();
    } finally {
      await dead.close();
    }
  });
});

describe("graceful shutdown", () => {
  it("ends idle sessions at once (ERR 1053), lets an open transaction finish, then stops", async () => {
    const g = await startGateway();
    const idle = await RawClient.connect(g.address().port);
    expect((await idle.loginNative("root", db, false)).payload[0]).toBe(0x00);
    const inTx = await RawClient.connect(g.address().port);
    expect((await inTx.loginNative("root", db, false)).payload[0]).toBe(0x00);
    inTx.write(packet(Buffer.from("\x03BEGIN", "latin1"), 0));
    expect((await inTx.read())?.payload[0]).toBe(0x00);
    const done = g.shutdown(5000);
    const bye = await idle.read();
    expect(bye?.payload.readUInt16LE(1)).toBe(1053);
    // the transaction can still run statements and commit; then the session is closed
    inTx.write(packet(Buffer.from("\x03SELECT 1", "latin1"), 0));
    expect((await inTx.readResponse(false))[0].payload[0]).toBe(1);
    inTx.write(packet(Buffer.from("\x03COMMIT", "latin1"), 0));
    expect((await inTx.read())?.payload[0]).toBe(0x00);
    expect((await inTx.read())?.payload.readUInt16LE(1)).toBe(1053);
    await done;
    expect(g.connections()).toBe(0);
  });
});

describe("handshake timeout", () => {
  it("a client that never answers the greeting gets ERR 1159 and is disconnected", async () => {
    const g = await startGateway({ authTimeoutMs: 300 });
    try {
      const c = await RawClient.connect(g.address().port);
      const greeting = await c.read();
      expect(greeting?.payload[0]).toBe(10);
      const t0 = Date.now();
      const p = await c.read(3000);
      expect(p?.payload.readUInt16LE(1)).toBe(1159);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(await c.read(1000)).toBeUndefined();
      expect(g.connections()).toBe(0);
      // an authenticated session is not affected by the timer
      const ok = await RawClient.connect(g.address().port);
      expect((await ok.loginNative("root", undefined, false)).payload[0]).toBe(0x00);
      await new Promise((r) => setTimeout(r, 500));
      ok.write(packet(Buffer.from([0x0e]), 0));
      expect((await ok.read())?.payload[0]).toBe(0x00);
      ok.close();
    } finally {
      await g.close();
    }
  });
});
