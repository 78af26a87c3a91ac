// The relay's socket fast path (proxy/pg/socket-fast-path.ts): reads into a reused buffer and writes straight
// to the TCP handle. Checked: the Node internals it needs are present (so it is really in use here); a relay
// built from it stays byte-exact under backpressure while its read buffer is reused; and through the gateway,
// chunks carrying many messages split at every byte boundary, in both directions, arrive exactly, also with a
// hooked (rewritten) message in the middle of a forwarded chunk.
import { createHash, randomBytes } from "node:crypto";
import { type AddressInfo, connect, createServer, type Server, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NATIVE_RELAY_ERROR, nativeRelay } from "../../proxy/native/relay.js";
import type { SessionHooks } from "../../proxy/pg/hooks.js";
import { Output } from "../../proxy/pg/output.js";
import { FAST_PATH_AVAILABLE, RawWrites, readIntoBuffer } from "../../proxy/pg/socket-fast-path.js";
import { type Gateway, startGateway } from "../../proxy/server.js";
import { silentLogger } from "./gateway-fixture.js";
import {
  authOk,
  backendKeyData,
  type MockBackend,
  type MockConnection,
  msg,
  startMockBackend,
} from "./mock-backend.js";

let gateway: Gateway | undefined;
let mock: MockBackend | undefined;
const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await gateway?.shutdown(500);
  await mock?.close();
  gateway = undefined;
  mock = undefined;
});

function listen(server: Server): Promise<number> {
  servers.push(server);
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r((server.address() as AddressInfo).port)));
}

async function connected(port: number): Promise<Socket> {
  const s = connect({ port, host: "127.0.0.1", noDelay: true });
  sockets.push(s);
  await new Promise((r) => s.once("connect", r));
  return s;
}

async function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Wait until the gateway's only session was handed to the native relay. */
const untilNative = () => until(() => (nativeRelay?.count ?? 0) === 1);

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Many frontend messages of varied types and sizes (ending with Sync), one of them large. */
function frontendBatch(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 60; i++) {
    parts.push(msg("P", `s${i}`, `select $1::int + ${i}`, Buffer.from([0, 0])));
    parts.push(msg("B", "", `s${i}`, Buffer.from([0, 0, 0, 1]), 1, Buffer.from(String(i)), Buffer.from([0, 0])));
    parts.push(msg("D", Buffer.from("P\0")));
    parts.push(msg("E", "", 0));
    if (i % 10 === 0) parts.push(msg("H"));
    if (i % 7 === 0) parts.push(msg("S"));
    if (i % 13 === 0) parts.push(msg("Q", `select '${"x".repeat(i * 37)}'`));
  }
  parts.push(msg("Q", `select '${randomBytes(100_000).toString("hex")}'`));
  parts.push(msg("S"));
  return Buffer.concat(parts);
}

/** Many backend messages: rows, notices, parameter status, completion, ReadyForQuery. */
function backendBatch(): Buffer {
  const parts: Buffer[] = [msg("1"), msg("2")];
  for (let i = 0; i < 400; i++) {
    const v = Buffer.from(`row-${i}-${"y".repeat(i % 50)}`);
    const n = Buffer.alloc(6);
    n.writeInt16BE(1, 0);
    n.writeInt32BE(v.length, 2);
    parts.push(msg("D", n, v));
    if (i % 97 === 0) parts.push(msg("N", Buffer.from(`SNOTICE\0C00000\0Mnotice ${i}\0\0`)));
  }
  parts.push(msg("S", "application_name", "fast-path-test"));
  parts.push(msg("C", "SELECT 400"));
  parts.push(msg("Z", Buffer.from("I")));
  return Buffer.concat(parts);
}

/** Write buf in pieces: 1 byte each for the first `byteWise` bytes, then random sizes. */
async function writeSplit(s: Socket, buf: Buffer, byteWise: number): Promise<void> {
  let pos = 0;
  while (pos < buf.length) {
    const n = pos < byteWise ? 1 : 1 + Math.floor(Math.random() * 3000);
    const piece = buf.subarray(pos, Math.min(buf.length, pos + n));
    pos += piece.length;
    if (!s.write(piece)) await new Promise((r) => s.once("drain", r));
    if (pos < byteWise) await new Promise((r) => setImmediate(r)); // separate segments, separate reads
  }
}

/** Collect what a socket receives until `total` bytes arrived. */
function receive(s: Socket, total: number, ms = 60_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let n = 0;
    const timer = setTimeout(() => reject(new Error(`received ${n} of ${total} bytes in time`)), ms);
    s.on("data", (b: Buffer) => {
      got.push(b);
      n += b.length;
      if (n >= total) {
        clearTimeout(timer);
        resolve(Buffer.concat(got));
      }
    });
  });
}

/** The bytes of the client's messages as the mock saw them (reassembled from its parsed queue). */
async function mockReceive(c: MockConnection, total: number): Promise<Buffer> {
  const got: Buffer[] = [];
  let n = 0;
  while (n < total) {
    const m = await c.next();
    const head = Buffer.alloc(5);
    head.write(m.type, 0, "latin1");
    head.writeInt32BE(m.body.length + 4, 1);
    got.push(head, m.body);
    n += 5 + m.body.length;
  }
  return Buffer.concat(got);
}

function startupPacket(): Buffer {
  const body = Buffer.from("user\0postgres\0database\0test\0\0");
  const b = Buffer.alloc(8 + body.length);
  b.writeInt32BE(b.length, 0);
  b.writeInt32BE(196608, 4);
  body.copy(b, 8);
  return b;
}

async function gatewayFor(m: MockBackend, hooks?: () => SessionHooks, native = false): Promise<number> {
  gateway = await startGateway(
    {
      pg: { listen: "127.0.0.1:0", backend: `127.0.0.1:${m.port}`, native_relay: native },
      limits: { max_connections: 10, max_message_bytes: 1 << 20 },
    },
    { logger: silentLogger(), pgHooks: hooks },
  );
  return gateway.pg!.address().port;
}

/** A client connected through the gateway, past startup (authOk, BackendKeyData, ReadyForQuery read). */
async function sessionThroughGateway(
  hooks?: () => SessionHooks,
  native = false,
): Promise<{ client: Socket; server: Promise<MockConnection> }> {
  let resolveConn!: (c: MockConnection) => void;
  const server = new Promise<MockConnection>((r) => {
    resolveConn = r;
  });
  mock = await startMockBackend((c) => {
    c.socket.setNoDelay(true);
    c.socket.write(Buffer.concat([authOk(), backendKeyData(7, 8), msg("Z", Buffer.from("I"))]));
    resolveConn(c);
  });
  const port = await gatewayFor(mock, hooks, native);
  const client = await connected(port);
  const hello = receive(client, authOk().length + backendKeyData(0, 0).length + 6);
  client.write(startupPacket());
  await hello;
  client.removeAllListeners("data");
  return { client, server };
}

describe("socket fast path", () => {
  it("has the Node internals it needs here, and applies raw writes to plain TCP sockets only", async () => {
    expect(FAST_PATH_AVAILABLE).toBe(true);
    expect(RawWrites.for(new Socket())).toBeUndefined(); // no handle yet
    const port = await listen(createServer(() => {}));
    const s = await connected(port);
    expect(RawWrites.for(s)).toBeDefined();
    s.destroy();
    expect(RawWrites.for(s)).toBeUndefined();
  });

  it.each([
    ["pausing on backpressure (onDrain resumes)", true],
    ["not pausing: reads go on while writes are queued (the buffer must not be reused then)", false],
  ])(
    "relays 24 MiB exactly through a reused read buffer to a stalling reader, %s",
    async (_what, pause) => {
      const payload = randomBytes(24 * 1024 * 1024);
      // sink: reads slowly, pausing often, so the relay's writes queue in libuv
      let resolveSink!: (b: Buffer) => void;
      const sinkDone = new Promise<Buffer>((r) => {
        resolveSink = r;
      });
      const sinkGot: Buffer[] = [];
      const sinkPort = await listen(
        createServer((s) => {
          let n = 0;
          s.on("data", (b: Buffer) => {
            sinkGot.push(b);
            n += b.length;
            if (sinkGot.length % 16 === 0) {
              s.pause();
              setTimeout(() => s.resume(), 2);
            }
            if (n >= payload.length) resolveSink(Buffer.concat(sinkGot));
          });
        }),
      );
      let reused = 0;
      let fresh = 0;
      const relay = createServer({ pauseOnConnect: true, noDelay: true }, async (accepted) => {
        sockets.push(accepted);
        const down = await connected(sinkPort);
        const out = new Output(down);
        const ok = readIntoBuffer(accepted, {
          onChunk(c) {
            out.add(c);
            if (!out.flush() && pause) {
              accepted.pause();
              out.onDrain(() => accepted.resume());
            }
          },
          canReuse() {
            const r = !out.queued;
            if (r) reused++;
            else fresh++;
            return r;
          },
        });
        expect(ok).toBe(true);
        accepted.resume();
      });
      const src = await connected(await listen(relay));
      await writeSplit(src, payload, 0);
      const got = await sinkDone;
      expect(got.length).toBe(payload.length);
      expect(sha(got)).toBe(sha(payload));
      expect(reused).toBeGreaterThan(0);
      if (!pause) expect(fresh).toBeGreaterThan(0); // writes were still queued: the buffer was not reused then
    },
    120_000,
  );

  // the same streams through the JavaScript relay (socket fast path) and through the native relay thread
  describe.each([
    ["JavaScript relay", false],
    ["native relay", true],
  ])("%s", (_name, native) => {
    if (native && !nativeRelay) throw new Error(`native relay not built: ${NATIVE_RELAY_ERROR}`);

    it("gateway: a chunk of many client messages split at every byte boundary reaches the server exactly", async () => {
      const { client, server } = await sessionThroughGateway(undefined, native);
      if (native) await untilNative();
      const batch = frontendBatch();
      const conn = await server;
      const seen = mockReceive(conn, batch.length);
      await writeSplit(client, batch, 6000); // the first 6,000 bytes one by one, the rest in random pieces
      const got = await seen;
      expect(got.length).toBe(batch.length);
      expect(got.equals(batch)).toBe(true);
    }, 120_000);

    it("gateway: a chunk of many server messages split at every byte boundary reaches the client exactly", async () => {
      const { client, server } = await sessionThroughGateway(undefined, native);
      if (native) await untilNative();
      const batch = backendBatch();
      const conn = await server;
      const got = receive(client, batch.length);
      await writeSplit(conn.socket, batch, batch.length); // every byte separately
      const bytes = await got;
      expect(bytes.equals(batch)).toBe(true);
      const session = [...gateway!.pg!.sessions][0];
      if (native) {
        // the relay keeps the transaction status; ParameterStatus is not tracked while a session is native
        expect(nativeRelay!.count).toBe(1);
        client.destroy();
        await until(() => gateway!.pg!.sessions.size === 0);
        expect(session.ctx.transactionStatus).toBe("I");
      } else {
        expect(session.ctx.serverParams.get("application_name")).toBe("fast-path-test");
        expect(session.ctx.transactionStatus).toBe("I");
      }
    }, 120_000);
  });

  it("gateway with hooks: a rewritten Query in the middle of a chunk; the messages around it pass unchanged", async () => {
    const hooks = (): SessionHooks => ({
      onQuery: (_ctx, sql) => (sql === "select 2" ? { sql: "select 20 -- rewritten" } : undefined),
    });
    const { client, server } = await sessionThroughGateway(hooks);
    const before = Buffer.concat([
      msg("P", "a", "select 1", Buffer.from([0, 0])),
      msg("B", "", "a", Buffer.from([0, 0, 0, 0, 0, 0])),
      msg("E", "", 0),
      msg("S"),
    ]);
    const after = Buffer.concat([msg("Q", "select 3"), msg("P", "b", "select 4", Buffer.from([0, 0])), msg("S")]);
    const chunk = Buffer.concat([before, msg("Q", "select 2"), after]);
    const expected = Buffer.concat([before, msg("Q", "select 20 -- rewritten"), after]);
    const conn = await server;
    const seen = mockReceive(conn, expected.length);
    client.write(chunk); // one write: the hooked message sits inside one forwarded chunk
    expect((await seen).equals(expected)).toBe(true);
    const again = mockReceive(conn, 2 * expected.length);
    await writeSplit(client, Buffer.concat([chunk, chunk]), 2 * chunk.length); // and split at every byte
    expect((await again).equals(Buffer.concat([expected, expected]))).toBe(true);
  }, 120_000);
});
