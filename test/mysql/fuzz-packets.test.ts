// Fuzzing the gateway's packet handling with fast-check: thousands of random and mutated packets from the client
// side (before and after authentication) and from a mock server side (handshake and command responses). The
// property: the gateway process never throws (vitest fails on any uncaught error), every case ends with the
// connection either answered or closed, and a well-formed session still works afterwards.
import net from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MysqlGateway, type MysqlSessionHooks, startMysqlGateway } from "../../proxy/mysql/index.js";
import { silentLogger } from "./gateway-harness.js";
import { type MockServer, packet, startMockServer, textResultset } from "./mock-server.js";
import { RawClient } from "./raw-client.js";

const PASSWORD = "fuzz-pw";
let mock: MockServer;
let gw: MysqlGateway;
let serverReply: Buffer | undefined;
let rawServer: net.Server;
let rawBytes: Buffer = Buffer.alloc(0);
let gwRaw: MysqlGateway;
/** Same backend, with hooks that decode and re-encode everything (statements, parameters, rows). */
let gwHooks: MysqlGateway;
let executeReply: Buffer | undefined;

const decodingHooks: MysqlSessionHooks = {
  onQuery: (_ctx, _req, sql) => (sql.length % 2 === 0 ? { sql } : undefined),
  onPrepare: () => undefined,
  onExecute: (_ctx, _stmt, params) => ({ params: { types: params.types, values: params.values } }),
  onColumnDefinitions: (_ctx, _req, columns) => ({ columns }),
  onRows: (_ctx, _req, rows) => {
    for (let r = 0; r < rows.size; r++) for (let c = 0; c < rows.columnCount; c++) rows.set(r, c, rows.get(r, c));
    return undefined;
  },
};

beforeAll(async () => {
  mock = await startMockServer({
    initialPlugin: "caching_sha2_password",
    password: PASSWORD,
    fastPath: true,
    onQuery: (sql, reply, de) => reply(serverReply ?? textResultset("q", [sql], 1, de)),
    onExecute: (reply) => reply(executeReply ?? packet(Buffer.from([0, 0, 0, 2, 0, 0, 0]), 1)),
  });
  gwHooks = await startMysqlGateway({
    listen: "127.0.0.1:0",
    backend: `127.0.0.1:${mock.port}`,
    logger: silentLogger,
    maxMessageBytes: 1 << 20,
    hooks: () => decodingHooks,
  });
  gw = await startMysqlGateway({
    listen: "127.0.0.1:0",
    backend: `127.0.0.1:${mock.port}`,
    logger: silentLogger,
    maxMessageBytes: 1 << 20,
  });
  // a "server" that sends whatever bytes the current case holds instead of a handshake
  rawServer = net.createServer((s) => {
    s.on("error", () => {});
    s.end(rawBytes);
  });
  await new Promise<void>((r) => rawServer.listen(0, "127.0.0.1", r));
  gwRaw = await startMysqlGateway({
    listen: "127.0.0.1:0",
    backend: `127.0.0.1:${(rawServer.address() as net.AddressInfo).port}`,
    logger: silentLogger,
  });
});

afterAll(async () => {
  await gw.close();
  await gwHooks.close();
  await gwRaw.close();
  await mock.close();
  await new Promise<void>((r) => rawServer.close(() => r()));
});

/** Read whatever comes back until the connection closes or stays quiet for `quietMs`. */
async function drain(c: RawClient, quietMs = 10): Promise<void> {
  while ((await c.read(quietMs)) !== undefined) {
    // keep reading
  }
}

async function stillServing(): Promise<void> {
  serverReply = undefined;
  const c = await RawClient.connect(gw.address().port);
  const ok = await c.login(PASSWORD);
  expect(ok.payload[0]).toBe(0x00);
  c.write(packet(Buffer.from("\x03SELECT 'alive'", "latin1"), 0));
  const p = await c.read();
  expect(p?.payload[0]).toBe(1);
  c.close();
}

const COMMANDS = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x09, 0x0a, 0x0c, 0x0e, 0x11, 0x12, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f,
  0xfa,
];

/** A command packet: plausible command byte + random body, optionally with a broken header. */
const commandPacket = fc
  .record({
    cmd: fc.constantFrom(...COMMANDS),
    body: fc.uint8Array({ maxLength: 64 }),
    seq: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
    lenDelta: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: -5, max: 5 })),
  })
  .map(({ cmd, body, seq, lenDelta }) => {
    const payload = Buffer.concat([Buffer.from([cmd]), Buffer.from(body)]);
    const pkt = packet(payload, seq);
    if (lenDelta !== 0) pkt.writeUIntLE(Math.max(0, payload.length + lenDelta), 0, 3);
    return pkt;
  });

function mutate(valid: Buffer, edits: { pos: number; byte: number }[], cut: number): Buffer {
  const b = Buffer.from(valid);
  for (const e of edits) b[e.pos % b.length] = e.byte;
  return cut > 0 ? b.subarray(0, Math.max(1, b.length - cut)) : b;
}

describe("fuzz: the gateway survives malformed packets from either side", { timeout: 180_000 }, () => {
  it("client side, before authentication: 800 random handshake responses", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
        const c = await RawClient.connect(gw.address().port);
        await c.read();
        c.write(Buffer.from(bytes));
        await drain(c);
        c.close();
      }),
      { numRuns: 800 },
    );
    await stillServing();
  });

  it("client side, after authentication: 1,500 sequences of random / broken command packets", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(commandPacket, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (pkts, withHooks) => {
          const c = await RawClient.connect((withHooks ? gwHooks : gw).address().port);
          const ok = await c.login(PASSWORD);
          if (ok.payload[0] !== 0x00) throw new Error("login failed");
          for (const p of pkts) c.write(p);
          await drain(c);
          c.close();
        },
      ),
      { numRuns: 1500 },
    );
    await stillServing();
  });

  it("client side, prepared statements: 1,000 random COM_STMT_EXECUTE / SEND_LONG_DATA bodies (with hooks)", async () => {
    const TYPES = [
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0a, 0x0b, 0x0c, 0x0f, 0xf6, 0xfc, 0xfd, 0xfe, 0x99,
    ];
    const execute = fc
      .record({
        flags: fc.constantFrom(0, 1, 8),
        nullBits: fc.integer({ min: 0, max: 3 }),
        bound: fc.constantFrom(0, 1, 2),
        types: fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom(...TYPES)),
        values: fc.uint8Array({ maxLength: 40 }),
        longData: fc.option(fc.uint8Array({ maxLength: 20 })),
      })
      .map(({ flags, nullBits, bound, types, values, longData }) => {
        const head = Buffer.from([0x17, 1, 0, 0, 0, flags, 1, 0, 0, 0, nullBits, bound]);
        const t = bound === 1 ? Buffer.from([types[0], 0, types[1], 0x80]) : Buffer.alloc(0);
        const exec = packet(Buffer.concat([head, t, Buffer.from(values)]), 0);
        if (!longData) return exec;
        return Buffer.concat([
          packet(Buffer.concat([Buffer.from([0x18, 1, 0, 0, 0, 0, 0]), Buffer.from(longData)]), 0),
          exec,
        ]);
      });
    await fc.assert(
      fc.asyncProperty(fc.array(execute, { minLength: 1, maxLength: 3 }), async (execs) => {
        executeReply = undefined;
        const c = await RawClient.connect(gwHooks.address().port);
        const ok = await c.login(PASSWORD);
        if (ok.payload[0] !== 0x00) throw new Error("login failed");
        c.write(packet(Buffer.from("\x16SELECT ?, ?", "latin1"), 0));
        for (const e of execs) c.write(e);
        await drain(c);
        c.close();
      }),
      { numRuns: 1000 },
    );
    await stillServing();
  });

  it("server side, binary resultsets: 800 mutated COM_STMT_EXECUTE answers (with hooks)", async () => {
    const col = (name: string, type: number) =>
      Buffer.concat([
        Buffer.from([3]),
        Buffer.from("def"),
        Buffer.from([2]),
        Buffer.from("db"),
        Buffer.from([1]),
        Buffer.from("t"),
        Buffer.from([1]),
        Buffer.from("t"),
        Buffer.from([name.length]),
        Buffer.from(name),
        Buffer.from([name.length]),
        Buffer.from(name),
        Buffer.from([0x0c, 0x3f, 0, 0x20, 0, 0, 0, type, 0, 0, 0, 0, 0]),
      ]);
    const validBinary = (rows: number[][]) =>
      Buffer.concat([
        packet(Buffer.from([3]), 1),
        packet(col("a", 0x08), 2),
        packet(col("b", 0x0c), 3),
        packet(col("c", 0xfd), 4),
        packet(Buffer.from([0xfe, 0, 0, 2, 0]), 5),
        ...rows.map((r, i) =>
          packet(
            Buffer.concat([
              Buffer.from([0x00, 0x00]),
              Buffer.from([r[0], 0, 0, 0, 0, 0, 0, 0]),
              Buffer.from([7, 0xe8, 0x07, 1 + (r[1] % 12), 1 + (r[2] % 28), 1, 2, 3]),
              Buffer.from([2, 0x41, 0x42]),
            ]),
            6 + i,
          ),
        ),
        packet(Buffer.from([0xfe, 0, 0, 2, 0]), 6 + rows.length),
      ]);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)), { maxLength: 4 }),
        fc.array(fc.record({ pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
        fc.integer({ min: 0, max: 8 }),
        async (rows, edits, cut) => {
          executeReply = mutate(validBinary(rows), edits, cut);
          const c = await RawClient.connect(gwHooks.address().port);
          const ok = await c.login(PASSWORD);
          if (ok.payload[0] !== 0x00) throw new Error("login failed");
          c.write(packet(Buffer.from("\x16SELECT ?, ?", "latin1"), 0));
          c.write(packet(Buffer.from([0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 3, 1, 0xfd, 0, 0xfd, 0]), 0));
          await drain(c);
          c.close();
        },
      ),
      { numRuns: 800 },
    );
    executeReply = undefined;
    await stillServing();
  });

  it("server side, handshake: 800 random / mutated server greetings", async () => {
    const validGreeting = packet(
      Buffer.concat([
        Buffer.from([10]),
        Buffer.from("10.11.0-fuzz\0"),
        Buffer.from([1, 0, 0, 0]),
        Buffer.from("abcdefgh\0"),
        Buffer.from([0xfe, 0xf7, 0x21, 0x02, 0x00, 0xff, 0x81, 21]),
        Buffer.alloc(10),
        Buffer.from("ijklmnopqrst\0mysql_native_password\0"),
      ]),
      0,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
          fc
            .record({
              edits: fc.array(fc.record({ pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
              cut: fc.integer({ min: 0, max: 40 }),
            })
            .map(({ edits, cut }) => mutate(validGreeting, edits, cut)),
        ),
        async (bytes) => {
          rawBytes = bytes;
          const c = await RawClient.connect(gwRaw.address().port);
          await drain(c);
          c.close();
        },
      ),
      { numRuns: 800 },
    );
    await stillServing();
  });

  it("server side, command phase: 1,500 mutated resultsets", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          rows: fc.array(fc.option(fc.string({ maxLength: 20 }), { nil: null }), { maxLength: 5 }),
          deprecateEof: fc.boolean(),
          edits: fc.array(fc.record({ pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
          cut: fc.integer({ min: 0, max: 10 }),
          extra: fc.uint8Array({ maxLength: 16 }),
          withHooks: fc.boolean(),
        }),
        async ({ rows, deprecateEof, edits, cut, extra, withHooks }) => {
          serverReply = Buffer.concat([
            mutate(textResultset("q", rows, 1, deprecateEof), edits, cut),
            Buffer.from(extra),
          ]);
          const c = await RawClient.connect((withHooks ? gwHooks : gw).address().port);
          const ok = await c.login(PASSWORD);
          if (ok.payload[0] !== 0x00) throw new Error("login failed");
          c.write(packet(Buffer.from("\x03SELECT 1", "latin1"), 0));
          await drain(c);
          c.close();
        },
      ),
      { numRuns: 1500 },
    );
    await stillServing();
  });
});
