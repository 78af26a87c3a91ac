// Protocol fuzzing of the native relay (fast-check), both directions, against a mock backend: each case waits
// until its session was handed to the native relay before the fuzzed bytes are sent, so the C tracker (not the
// JavaScript framer) judges them. Properties as in fuzz.test.ts: a stream whose framing is valid passes
// byte-for-byte; at the first invalid message the peer gets everything before it, then ErrorResponse FATAL
// 08P01, then the connection closes; the gateway keeps serving. The framing oracle is written from the
// protocol spec (legal type bytes, Int32 length >= 4 and <= the limit; ReadyForQuery and ParameterStatus,
// which smgate decodes, must be well-formed).
import { connect, type Socket } from "node:net";
import fc from "fast-check";
import { serialize } from "pg-protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NATIVE_RELAY_ERROR, nativeRelay } from "../../proxy/native/relay.js";
import type { PgSession } from "../../proxy/pg/session.js";
import { type Gateway, startGateway } from "../../proxy/server.js";
import { silentLogger } from "./gateway-fixture.js";
import { authOk, backendKeyData, type MockBackend, msg, readyForQuery, startMockBackend } from "./mock-backend.js";

if (!nativeRelay) throw new Error(`the native relay addon is not built (npm run build:native): ${NATIVE_RELAY_ERROR}`);
const relay = nativeRelay;

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
let lastServer: Socket | undefined;
const GREETING_LEN = 9 + 13 + 6; // AuthenticationOk + BackendKeyData + ReadyForQuery
const seen = { valid: 0, invalid: 0 };

beforeAll(async () => {
  mock = await startMockBackend(async (c) => {
    c.socket.write(Buffer.concat([authOk(), backendKeyData(1, 2), readyForQuery()]));
    for (;;) {
      const m = await c.next();
      if (m.type === "Q" && m.body.toString("latin1") === "PING\0") c.socket.write(readyForQuery());
      if (m.type === "Q" && m.body.toString("latin1") === "FUZZ-ME\0") {
        lastServer = c.socket;
        c.socket.write(backendPayload);
      }
    }
  });
  gateway = await startGateway(
    {
      pg: { listen: "127.0.0.1:0", backend: `127.0.0.1:${mock.port}`, native_relay: true },
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

const nativeIdOf = (s: PgSession): number | undefined => (s as unknown as { nativeId?: number }).nativeId;

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
  /** Connect, complete the startup and wait until the gateway handed this session to the native relay. */
  static async open(): Promise<Conn> {
    const s = connect({ port, host: "127.0.0.1", noDelay: true });
    await new Promise((r) => s.once("connect", r));
    const c = new Conn(s);
    s.write(serialize.startup({ user: "fuzz", database: "fuzz" }));
    await c.until(() => c.data.length >= GREETING_LEN);
    c.data = c.data.subarray(GREETING_LEN);
    const addr = `127.0.0.1:${s.localPort}`;
    const session = () => [...gateway.pg!.sessions].find((x) => x.ctx.clientAddress === addr);
    await c.until(() => {
      const x = session();
      return x !== undefined && nativeIdOf(x) !== undefined && relay.state(nativeIdOf(x)!) !== undefined;
    });
    return c;
  }
  async until(pred: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (this.closed && !pred()) throw new Error(`closed early with ${this.data.length} bytes`);
      if (Date.now() > end) throw new Error("timeout");
      await new Promise<void>((r) => {
        const t = setTimeout(r, 5);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }
}

/** ErrorResponse FATAL 08P01 at the start of buf, and nothing after it? */
function isProtocolViolation(buf: Buffer): boolean {
  if (buf.length < 5 || buf[0] !== 0x45 || buf.length !== 1 + buf.readUInt32BE(1)) return false;
  const text = buf.subarray(5).toString("latin1");
  return text.includes("SFATAL\0") && text.includes("C08P01\0");
}

describe("native relay fuzz: hostile bytes after the hand-over", () => {
  it("client → server: random and mutated messages (1,000 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(payload(validFrontend), async (bytes) => {
        const v = frame(bytes, FRONTEND, false);
        const c = await Conn.open();
        c.s.write(bytes);
        if (v.kind === "invalid") {
          seen.invalid++;
          await c.until(() => c.closed);
          expect(isProtocolViolation(c.data)).toBe(true);
        } else if (v.kind === "valid" && !bytes.includes(0x58 /* no Terminate */)) {
          seen.valid++;
          c.s.write(serialize.query("PING"));
          await c.until(() => c.data.includes(readyForQuery()));
        }
        c.s.destroy();
      }),
      { numRuns: 1000 },
    );
    expect(seen.valid).toBeGreaterThan(50);
    expect(seen.invalid).toBeGreaterThan(200);
  }, 180_000);

  it("server → client: random and mutated messages (1,000 cases)", async () => {
    seen.valid = seen.invalid = 0;
    await fc.assert(
      fc.asyncProperty(payload(validBackend), async (bytes) => {
        backendPayload = bytes;
        const v = frame(bytes, BACKEND, true);
        const c = await Conn.open();
        c.s.write(serialize.query("FUZZ-ME"));
        if (v.kind === "valid") {
          seen.valid++;
          await c.until(() => c.data.length >= bytes.length);
          expect(c.data.equals(bytes)).toBe(true);
        } else if (v.kind === "invalid") {
          seen.invalid++;
          await c.until(() => c.closed);
          expect(c.data.subarray(0, v.validPrefix).equals(bytes.subarray(0, v.validPrefix))).toBe(true);
          expect(isProtocolViolation(c.data.subarray(v.validPrefix))).toBe(true);
        }
        c.s.destroy();
      }),
      { numRuns: 1000 },
    );
    expect(seen.valid).toBeGreaterThan(50);
    expect(seen.invalid).toBeGreaterThan(200);
  }, 180_000);

  it("an invalid server message right after the send buffer filled: the bytes before it still arrive first", async () => {
    // The client stops reading, so the relay's write of the read holding the bad message stops part way when
    // the socket buffers are full. The valid bytes before the bad message must still reach the client, then
    // the FATAL. Where the buffers fill (B) is measured first, and the bad message is put just past it.
    const rows = (total: number): Buffer => {
      const out: Buffer[] = [];
      let n = 0;
      while (total - n >= 3005 + 5) {
        out.push(msg("D", Buffer.alloc(3000, 0x41)));
        n += 3005;
      }
      out.push(msg("D", Buffer.alloc(total - n - 5, 0x42)));
      return Buffer.concat(out);
    };
    const blocked = async (c: Conn, sessionId: () => number | undefined): Promise<number> => {
      let last = -1;
      for (;;) {
        await new Promise((r) => setTimeout(r, 150));
        const id = sessionId();
        const cur = id === undefined ? undefined : relay.state(id)?.bytesDown;
        if (cur === undefined || cur === last || c.closed) return last;
        last = cur;
      }
    };
    const idOf = (c: Conn) => () => {
      const x = [...gateway.pg!.sessions].find((y) => y.ctx.clientAddress === `127.0.0.1:${c.s.localPort}`);
      return x && nativeIdOf(x);
    };
    // B: what the relay writes to a client that does not read before it blocks
    backendPayload = rows(16 * 1024 * 1024);
    const probe = await Conn.open();
    probe.s.pause();
    probe.s.write(serialize.query("FUZZ-ME"));
    const b = await blocked(probe, idOf(probe));
    probe.s.destroy();
    expect(b).toBeGreaterThan(64 * 1024);
    for (let i = 0; i < 16; i++) {
      const prefix = rows(b + (i - 4) * 2048 + 777);
      backendPayload = Buffer.concat([prefix, Buffer.from([0x01, 0, 0, 0, 4])]);
      const c = await Conn.open();
      c.s.pause();
      c.s.write(serialize.query("FUZZ-ME"));
      await blocked(c, idOf(c));
      c.s.resume();
      await c.until(() => c.closed, 20_000);
      expect(c.data.length, `case ${i}`).toBeGreaterThanOrEqual(prefix.length);
      expect(c.data.subarray(0, prefix.length).equals(prefix), `case ${i}`).toBe(true);
      expect(isProtocolViolation(c.data.subarray(prefix.length)), `case ${i}`).toBe(true);
    }
  }, 180_000);

  it("the server resets while the client does not read: the session ends at once, no busy loop", async () => {
    backendPayload = Buffer.concat(Array.from({ length: 3000 }, () => msg("D", Buffer.alloc(3000, 0x43))));
    const c = await Conn.open();
    const addr = `127.0.0.1:${c.s.localPort}`;
    const session = () => [...gateway.pg!.sessions].find((x) => x.ctx.clientAddress === addr);
    const id = nativeIdOf(session()!)!;
    c.s.pause();
    c.s.write(serialize.query("FUZZ-ME"));
    let last = -1;
    for (;;) {
      await new Promise((r) => setTimeout(r, 150));
      const cur = relay.state(id)!.bytesDown;
      if (cur === last) break;
      last = cur;
    }
    expect(relay.state(id)!.downMid).toBe(true); // blocked on the client, the server's bytes wait unread
    (lastServer as Socket & { resetAndDestroy(): void }).resetAndDestroy();
    const cpu0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 500));
    const cpu = process.cpuUsage(cpu0);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(200); // the relay thread does not spin on EPOLLHUP
    expect(relay.state(id)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100));
    expect(session()).toBeUndefined();
    c.s.resume();
    await c.until(() => c.closed, 10_000);
  }, 60_000);

  it("still serves natively after the fuzzing", async () => {
    const c = await Conn.open();
    c.s.write(serialize.query("PING"));
    await c.until(() => c.data.includes(readyForQuery()));
    c.s.destroy();
  });
});
