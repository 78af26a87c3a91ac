// Protocol fuzzing (fast-check), both directions, thousands of cases against one running gateway:
// random bytes and mutated valid messages. Properties: the process survives; a stream whose framing is
// valid passes through byte-for-byte; at the first invalid message the peer gets everything before it,
// then ErrorResponse FATAL 08P01, then the connection closes; and the gateway still serves afterwards.
// The framing oracle below is written from the protocol spec (legal type bytes, Int32 length >= 4 and
// <= the configured limit; ReadyForQuery and ParameterStatus, which smgate decodes, must be well-formed).
import { connect, type Socket } from "node:net";
import fc from "fast-check";
import { serialize } from "pg-protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../../proxy/server.js";
import { silentLogger } from "./gateway-fixture.js";
import { authOk, backendKeyData, type MockBackend, msg, readyForQuery, startMockBackend } from "./mock-backend.js";

const MAX = 64 * 1024;
const FRONTEND = new Set("BCdcfDEHFPpQSX".split("").map((c) => c.charCodeAt(0)));
const BACKEND = new Set("RK23CdcGHWDIEVvnNAtS1sZT".split("").map((c) => c.charCodeAt(0)));

type Verdict = { kind: "valid" } | { kind: "incomplete" } | { kind: "invalid"; validPrefix: number };

function frame(stream: Buffer, legal: Set<number>, backend: boolean): Verdict {
  let pos = 0;
  while (pos < stream.length) {
    if (stream.length - pos < 5) return { kind: "incomplete" };
    const type = stream[pos];
    const len = stream.readUInt32BE(pos + 1);
    if (!legal.has(type) || len < 4 || len > MAX) return { kind: "invalid", validPrefix: pos };
    if (pos + 1 + len > stream.length) return { kind: "incomplete" };
    const body = stream.subarray(pos + 5, pos + 1 + len);
    if (backend && type === 0x5a && (len !== 5 || !"ITE".includes(String.fromCharCode(body[0]))))
      return { kind: "invalid", validPrefix: pos };
    if (backend && type === 0x53) {
      const a = body.indexOf(0);
      const b = a < 0 ? -1 : body.indexOf(0, a + 1);
      if (a < 0 || b !== body.length - 1) return { kind: "invalid", validPrefix: pos };
    }
    pos += 1 + len;
  }
  return { kind: "valid" };
}

const validFrontend = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => serialize.query(s.replace(/\0/g, ""))),
  fc.string({ maxLength: 20 }).map((s) => serialize.parse({ name: "", text: s.replace(/\0/g, ""), types: [23] })),
  fc.array(fc.option(fc.string({ maxLength: 10 })), { maxLength: 4 }).map((v) => serialize.bind({ values: v })),
  fc.nat(100).map((rows) => serialize.execute({ portal: "", rows })),
  fc.constantFrom(
    serialize.sync(),
    serialize.flush(),
    serialize.describe({ type: "S", name: "" }),
    serialize.close({ type: "P", name: "" }),
  ),
  fc.uint8Array({ maxLength: 50 }).map((b) => serialize.copyData(Buffer.from(b))),
);

const validBackend = fc.oneof(
  fc.uint8Array({ maxLength: 60 }).map((b) => msg("D", Buffer.from(b))),
  fc.constantFrom(msg("C", "SELECT 1"), msg("1"), msg("2"), msg("n"), msg("s"), readyForQuery("T"), msg("S", "a", "b")),
  fc.string({ maxLength: 30 }).map((s) => msg("N", Buffer.from(`SNOTICE\0M${s.replace(/\0/g, "")}\0\0`))),
);

function mutated(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(
      fc.array(valid, { minLength: 1, maxLength: 6 }),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom("set", "cut", "insert", "none"),
    )
    .map(([msgs, at, byte, op]) => {
      const b = Buffer.concat(msgs);
      const i = at % b.length;
      if (op === "set") b[i] = byte;
      if (op === "cut") return b.subarray(0, i);
      if (op === "insert") return Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
      return b;
    });
}

const payload = (valid: fc.Arbitrary<Buffer>) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 80 }).map((b) => Buffer.from(b)) },
    { weight: 3, arbitrary: mutated(valid) },
  );

let mock: MockBackend;
let gateway: Gateway;
let port: number;
let backendPayload: Buffer = Buffer.alloc(0);
const GREETING_LEN = 9 + 13 + 6; // AuthenticationOk + BackendKeyData + ReadyForQuery

beforeAll(async () => {
  mock = await startMockBackend(async (c) => {
    c.socket.write(Buffer.concat([authOk(), backendKeyData(1, 2), readyForQuery()]));
    for (;;) {
      const m = await c.next();
      if (m.type === "Q" && m.body.toString("latin1") === "PING\0") c.socket.write(readyForQuery());
      if (m.type === "Q" && m.body.toString("latin1") === "FUZZ-ME\0") c.socket.write(backendPayload);
    }
  });
  gateway = await startGateway(
    {
      pg: { listen: "127.0.0.1:0", backend: `127.0.0.1:${mock.port}` },
      limits: { max_connections: 1000, max_message_bytes: MAX },
    },
    { logger: silentLogger() },
  );
  port = gateway.pg!.address().port;
});

afterAll(async () => {
  await gateway?.shutdown(500);
  await mock?.close();
});

class Conn {
  data = Buffer.alloc(0);
  closed = false;
  private wake: (() => void) | undefined;
  constructor(readonly s: Socket) {
    s.on("data", (b: Buffer) => {
      this.data = Buffer.concat([this.data, b]);
      this.wake?.();
    });
    s.on("close", () => {
      this.closed = true;
      this.wake?.();
    });
    s.on("error", () => {});
  }
  static async open(): Promise<Conn> {
    const s = connect({ port, host: "127.0.0.1" });
    await new Promise((r) => s.once("connect", r));
    const c = new Conn(s);
    s.write(serialize.startup({ user: "fuzz", database: "fuzz" }));
    await c.until(() => c.data.length >= GREETING_LEN);
    c.data = c.data.subarray(GREETING_LEN);
    return c;
  }
  async until(pred: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (this.closed && !pred()) throw new Error(`closed early with ${this.data.length} bytes`);
      if (Date.now() > end) throw new Error("timeout");
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }
}

/** ErrorResponse FATAL 08P01 at the start of buf? */
function isProtocolViolation(buf: Buffer): boolean {
  if (buf.length < 5 || buf[0] !== 0x45) return false;
  const text = buf.subarray(5, 1 + buf.readUInt32BE(1)).toString("latin1");
  return text.includes("SFATAL\0") && text.includes("C08P01\0");
}

describe("fuzz: the gateway survives hostile bytes from either side", () => {
  it("client → server: random and mutated messages (1,500 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(payload(validFrontend), async (bytes) => {
        const v = frame(bytes, FRONTEND, false);
        const c = await Conn.open();
        c.s.write(bytes);
        if (v.kind === "invalid") {
          await c.until(() => c.closed);
          expect(isProtocolViolation(c.data)).toBe(true);
        } else if (v.kind === "valid" && !bytes.includes(0x58 /* no Terminate */)) {
          c.s.write(serialize.query("PING"));
          await c.until(() => c.data.includes(readyForQuery()));
        }
        c.s.destroy();
      }),
      { numRuns: 1500 },
    );
  }, 120_000);

  it("server → client: random and mutated messages (1,500 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(payload(validBackend), async (bytes) => {
        backendPayload = bytes;
        const v = frame(bytes, BACKEND, true);
        const c = await Conn.open();
        c.s.write(serialize.query("FUZZ-ME"));
        if (v.kind === "valid") {
          await c.until(() => c.data.length >= bytes.length);
          expect(c.data.equals(bytes)).toBe(true);
        } else if (v.kind === "invalid") {
          await c.until(() => c.closed);
          expect(c.data.subarray(0, v.validPrefix).equals(bytes.subarray(0, v.validPrefix))).toBe(true);
          expect(isProtocolViolation(c.data.subarray(v.validPrefix))).toBe(true);
        }
        c.s.destroy();
      }),
      { numRuns: 1500 },
    );
  }, 120_000);

  it("client → real PostgreSQL 15: mutated valid messages (150 cases); gateway and server survive", async () => {
    const real = await startGateway(
      {
        pg: { listen: "127.0.0.1:0", backend: "127.0.0.1:5432" },
        limits: { max_connections: 100, max_message_bytes: MAX },
      },
      { logger: silentLogger() },
    );
    const realPort = real.pg!.address().port;
    try {
      await fc.assert(
        fc.asyncProperty(mutated(validFrontend), async (bytes) => {
          const v = frame(bytes, FRONTEND, false);
          const s = connect({ port: realPort, host: "127.0.0.1" });
          await new Promise((r) => s.once("connect", r));
          const c = new Conn(s);
          s.write(serialize.startup({ user: "postgres", database: "test" }));
          await c.until(() => c.data.includes(readyForQuery()));
          c.data = Buffer.alloc(0);
          s.write(bytes);
          if (v.kind === "invalid") {
            // the gateway refuses before the server sees the bad frame: 08P01 is the last message
            await c.until(() => c.closed);
            const text = c.data.toString("latin1");
            expect(text).toContain("SFATAL\0");
            expect(text).toContain("C08P01\0");
          } else await new Promise((r) => setTimeout(r, 2));
          s.destroy();
        }),
        { numRuns: 150 },
      );
      // the gateway and the server still serve
      const s = connect({ port: realPort, host: "127.0.0.1" });
      await new Promise((r) => s.once("connect", r));
      const c = new Conn(s);
      s.write(serialize.startup({ user: "postgres", database: "test" }));
      await c.until(() => c.data.includes(readyForQuery()));
      s.write(serialize.query("SELECT 1"));
      await c.until(() => c.data.includes(Buffer.from("SELECT 1\0")));
      s.destroy();
    } finally {
      await real.shutdown(500);
    }
  }, 120_000);

  it("startup: random startup packets get an error or a refusal, never a crash (500 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 60 }), fc.boolean(), async (raw, fixLen) => {
        const b = Buffer.from(raw);
        if (fixLen && b.length >= 8) b.writeUInt32BE(b.length, 0);
        const s = connect({ port, host: "127.0.0.1" });
        await new Promise((r) => s.once("connect", r));
        const c = new Conn(s);
        s.write(b);
        const len = b.length >= 4 ? b.readUInt32BE(0) : -1;
        if (len !== -1 && (len < 8 || len > 10000)) {
          // an impossible startup length is answered with an ErrorResponse and the connection closes
          await c.until(() => c.closed);
          expect(c.data[0]).toBe(0x45);
        } else await new Promise((r) => setTimeout(r, 5));
        s.destroy();
      }),
      { numRuns: 500 },
    );
    // still serving
    const c = await Conn.open();
    c.s.write(serialize.query("PING"));
    await c.until(() => c.data.includes(readyForQuery()));
    c.s.destroy();
  }, 120_000);
});
