// The native relay (native/, proxy/native/relay.ts) against the real PostgreSQL 15, through startGateway. Every
// test first waits until its session really is in the native relay (the session's relay id is set and the
// relay counts it), so nothing here can pass on the JavaScript path; the suite fails at once when the addon is
// not built. Covered: node-postgres simple/prepared/binary queries, a 100,000-row result and COPY in/out byte
// for byte; graceful shutdown (a transaction finishes, then 57P01; an idle session gets 57P01 at once);
// statement_timeout on a native session; malformed client messages after the hand-over (08P01, others keep
// working); a client leaving mid-result releases its backend; pg_terminate_backend; pgbench -S with 8 native
// sessions at once; and native_relay: false keeping sessions in JavaScript.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import type { Socket } from "node:net";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import type pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NATIVE_RELAY_ERROR, nativeRelay } from "../../proxy/native/relay.js";
import type { PgSession } from "../../proxy/pg/session.js";
import {
  createTestDatabase,
  directClient,
  dropTestDatabase,
  startTestGateway,
  type TestGateway,
} from "./gateway-fixture.js";
import { RawClient, serialize } from "./raw-client.js";

if (!nativeRelay) throw new Error(`the native relay addon is not built (npm run build:native): ${NATIVE_RELAY_ERROR}`);
const relay = nativeRelay;

const run = promisify(execFile);
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let db: string;

beforeAll(async () => {
  db = await createTestDatabase("native");
});

afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
  // every session left the relay when its gateway shut down
  expect(relay.count).toBe(0);
});

afterAll(async () => {
  if (db) await dropTestDatabase(db);
});

async function gateway(opts: Parameters<typeof startTestGateway>[0] = {}): Promise<TestGateway> {
  const gw = await startTestGateway(opts);
  cleanups.push(() => gw.stop(500));
  return gw;
}

async function until(pred: () => boolean | Promise<boolean>, ms = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const nativeIdOf = (s: PgSession): number | undefined => (s as unknown as { nativeId?: number }).nativeId;

function sessionAt(gw: TestGateway, localPort: number): PgSession | undefined {
  return [...gw.gateway.pg!.sessions].find((s) => s.ctx.clientAddress === `127.0.0.1:${localPort}`);
}

/** Wait until the session of the client socket is relayed natively; returns it and its relay id. */
async function untilNative(gw: TestGateway, sock: Socket): Promise<{ session: PgSession; id: number }> {
  const port = sock.localPort!;
  await until(
    () => {
      const s = sessionAt(gw, port);
      return s !== undefined && nativeIdOf(s) !== undefined;
    },
    10_000,
    `session of client port ${port} in the native relay`,
  );
  const session = sessionAt(gw, port)!;
  const id = nativeIdOf(session)!;
  expect(relay.state(id)).toBeDefined(); // the relay itself holds it
  return { session, id };
}

const streamOf = (c: pg.Client): Socket => (c as unknown as { connection: { stream: Socket } }).connection.stream;

async function nativeClient(gw: TestGateway, extra: Partial<pg.ClientConfig> = {}) {
  const c = gw.client(db, extra);
  await c.connect();
  cleanups.push(() => c.end().catch(() => {}));
  const n = await untilNative(gw, streamOf(c));
  return { c, ...n };
}

async function nativeRaw(gw: TestGateway, params: Record<string, string> = {}) {
  const c = await RawClient.startup(gw.port, { database: db, ...params });
  cleanups.push(() => c.socket.destroy());
  const n = await untilNative(gw, c.socket);
  return { c, ...n };
}

function collect(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  return {
    sink: new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
    bytes: () => Buffer.concat(chunks),
  };
}

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

async function backendGone(appName: string, ms = 5000): Promise<void> {
  const d = directClient();
  await d.connect();
  try {
    await until(
      async () =>
        (await d.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [appName]))
          .rows[0].n === 0,
      ms,
      `backend of ${appName} gone`,
    );
  } finally {
    await d.end();
  }
}

describe("native relay: node-postgres through a native session", () => {
  it("simple and prepared queries, binary results", async () => {
    const gw = await gateway();
    const { c, id } = await nativeClient(gw);
    expect((await c.query("SELECT 1 AS one, 'é'::text AS t")).rows).toEqual([{ one: 1, t: "é" }]);
    for (let i = 0; i < 5; i++) {
      // named: Parse once, then Bind/Execute only
      const r = await c.query({ name: "add", text: "SELECT $1::int + $2::int AS s", values: [i, 10] });
      expect(r.rows).toEqual([{ s: i + 10 }]);
    }
    await expect(c.query("SELECT 1/0")).rejects.toMatchObject({ code: "22012" });
    // single messages far larger than the relay's 16 KiB reads, both ways
    const big = randomBytes(3 * 1024 * 1024);
    const echoed = await c.query({ text: "SELECT $1::bytea AS b, md5($1::bytea) AS h", values: [big] });
    expect(Buffer.compare(echoed.rows[0].b, big)).toBe(0);
    expect(echoed.rows[0].h).toBe(createHash("md5").update(big).digest("hex"));
    const text = "ü".repeat(2_500_000);
    expect((await c.query(`SELECT length('${text}') AS n`)).rows).toEqual([{ n: 2_500_000 }]);
    expect((await c.query("SELECT 2 AS two")).rows).toEqual([{ two: 2 }]);
    expect(nativeIdOf(sessionAt(gw, streamOf(c).localPort!)!)).toBe(id); // never taken back

    const raw = { getTypeParser: () => (v: unknown) => v } as unknown as pg.CustomTypesConfig;
    const { c: b, id: bid } = await nativeClient(gw, { binary: true } as Partial<pg.ClientConfig>);
    const r = await b.query({
      text: "SELECT 42::int4 AS i, 3.5::float8 AS f, 'abc'::text AS t, '\\x00417f'::bytea AS x, $1::int4 AS p",
      values: [5],
      types: raw,
    });
    expect(r.fields.every((f) => (f as unknown as { format: string }).format === "binary")).toBe(true);
    const hex = (k: string) => Buffer.from(r.rows[0][k]).toString("hex");
    expect([hex("i"), hex("f"), hex("t"), hex("x"), hex("p")]).toEqual([
      "0000002a",
      "400c000000000000",
      "616263",
      "00417f",
      "00000005",
    ]);
    expect(relay.count).toBe(2);
    expect(relay.state(bid)).toBeDefined();
  });

  it("a 100,000-row result arrives exactly (same rows as straight from the server)", async () => {
    const gw = await gateway();
    const { c, id } = await nativeClient(gw);
    const sql =
      "SELECT g, md5(g::text) AS h, repeat(chr(65 + g % 26), g % 300) AS pad FROM generate_series(1, 100000) g";
    const through = await c.query({ text: sql, rowMode: "array" });
    const d = directClient(db);
    await d.connect();
    const direct = await d.query({ text: sql, rowMode: "array" });
    await d.end();
    expect(through.rowCount).toBe(100000);
    expect(sha(JSON.stringify(through.rows))).toBe(sha(JSON.stringify(direct.rows)));
    const st = relay.state(id)!;
    expect(st.bytesDown).toBeGreaterThan(15_000_000); // the rows went through the relay thread
    expect(st.outstanding).toBe(0);
    expect(String.fromCharCode(st.tx)).toBe("I");
  });

  it("COPY in and out (text and binary) byte for byte", async () => {
    const gw = await gateway();
    const { c, id } = await nativeClient(gw);
    await c.query("DROP TABLE IF EXISTS native_copy; CREATE TABLE native_copy (id int, name text, data bytea)");
    const lines: string[] = [];
    for (let i = 1; i <= 20000; i++) lines.push(`${i}\tname ${i} é ${"z".repeat(i % 97)}\t\\\\x0${i % 10}ff\n`);
    const before = relay.state(id)!.bytesUp;
    await pipeline(Readable.from(lines), c.query(copyFrom("COPY native_copy FROM STDIN")));
    expect(relay.state(id)!.bytesUp - before).toBeGreaterThan(Buffer.byteLength(lines.join("")));
    expect((await c.query("SELECT count(*)::int AS n, sum(id)::int AS s FROM native_copy")).rows[0]).toEqual({
      n: 20000,
      s: 200010000,
    });
    const d = directClient(db);
    await d.connect();
    try {
      for (const sql of [
        "COPY (SELECT * FROM native_copy ORDER BY id) TO STDOUT",
        "COPY (SELECT * FROM native_copy ORDER BY id) TO STDOUT (FORMAT binary)",
      ]) {
        const a = collect();
        await pipeline(c.query(copyTo(sql)), a.sink);
        const b = collect();
        await pipeline(d.query(copyTo(sql)), b.sink);
        expect(a.bytes().length).toBeGreaterThan(500_000);
        expect(a.bytes().equals(b.bytes())).toBe(true);
      }
      // the text COPY out is exactly what went in
      const out = collect();
      await pipeline(c.query(copyTo("COPY (SELECT * FROM native_copy ORDER BY id) TO STDOUT")), out.sink);
      expect(out.bytes().toString("utf8")).toBe(lines.join(""));
    } finally {
      await d.end();
    }
    expect(nativeIdOf(sessionAt(gw, streamOf(c).localPort!)!)).toBe(id);
  });
});

describe("native relay: session lifecycle", () => {
  it("graceful shutdown: a native transaction commits, then 57P01; an idle native session gets 57P01 at once", async () => {
    const gw = await startTestGateway();
    cleanups.push(() => gw.stop(500));
    const idle = await nativeRaw(gw);
    const { c: inTx } = await nativeClient(gw);
    const inTxError = new Promise<Error>((r) => inTx.on("error", r));
    await inTx.query("DROP TABLE IF EXISTS native_drain; CREATE TABLE native_drain (v int)");
    await inTx.query("BEGIN");
    await inTx.query("INSERT INTO native_drain VALUES (1)");
    await until(() => relay.count === 2);
    const started = Date.now();
    const done = gw.gateway.shutdown(10_000);
    const [fatal] = await idle.c.waitFor((m) => m.name === "error", 2000);
    expect(fatal).toMatchObject({ code: "57P01", severity: "FATAL" });
    expect(Date.now() - started).toBeLessThan(1000);
    await idle.c.closedPromise();
    // the open transaction goes on in the relay and can commit; then its session ends with 57P01
    expect(relay.count).toBe(1);
    await inTx.query("INSERT INTO native_drain VALUES (2)");
    await inTx.query("COMMIT");
    expect(await inTxError).toMatchObject({ code: "57P01", severity: "FATAL" });
    await done;
    expect(Date.now() - started).toBeLessThan(5000); // ended by the relay's Idle event, not the deadline
    expect(gw.gateway.pg!.sessions.size).toBe(0);
    const d = directClient(db);
    await d.connect();
    expect((await d.query("SELECT array_agg(v ORDER BY v) AS v FROM native_drain")).rows[0].v).toEqual([1, 2]);
    await d.end();
  });

  it("graceful shutdown waits for an extended-protocol request sent with Flush (no Sync yet)", async () => {
    const gw = await startTestGateway();
    cleanups.push(() => gw.stop(500));
    const { c } = await nativeRaw(gw);
    c.send(serialize.parse({ text: "SELECT pg_sleep(1.5)::text AS slept, 42 AS n" }), serialize.flush());
    await c.waitFor((m) => m.name === "parseComplete");
    c.send(serialize.bind({}), serialize.execute({}), serialize.flush());
    await new Promise((r) => setTimeout(r, 100)); // the server runs the statement
    const started = Date.now();
    const done = gw.gateway.shutdown(10_000);
    // the running statement completes and its result arrives before the session is ended
    const got = await c.waitFor((m) => m.name === "commandComplete" || m.name === "error", 5000);
    expect(got.map((m) => m.name)).toEqual(["bindComplete", "dataRow", "commandComplete"]);
    expect(Date.now() - started).toBeGreaterThan(1000);
    c.send(serialize.sync());
    const [z] = await c.waitFor((m) => m.name === "readyForQuery");
    expect(z).toMatchObject({ status: "I" });
    const [fatal] = await c.waitFor((m) => m.name === "error", 5000);
    expect(fatal).toMatchObject({ code: "57P01", severity: "FATAL" });
    await done;
  });

  it("limits.statement_timeout_ms cancels a native statement (57014) and the session stays usable", async () => {
    const gw = await gateway({ limits: { statement_timeout_ms: 400 } });
    const { c, id } = await nativeClient(gw);
    const t0 = Date.now();
    await expect(c.query("SELECT pg_sleep(30)")).rejects.toMatchObject({ code: "57014" });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((await c.query("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
    // a second long statement is cancelled too (one cancel per request, not per session)
    await expect(c.query("SELECT pg_sleep(30)")).rejects.toMatchObject({ code: "57014" });
    await c.query("BEGIN");
    await new Promise((r) => setTimeout(r, 800)); // idle in a transaction: nothing is cancelled
    expect((await c.query("SELECT 2 AS ok")).rows).toEqual([{ ok: 2 }]);
    await c.query("COMMIT");
    expect(nativeIdOf(sessionAt(gw, streamOf(c).localPort!)!)).toBe(id);
  });

  it("a client's CancelRequest stops a native session's running statement (57014); the session goes on", async () => {
    const gw = await gateway();
    const app = "smg_native_cancel";
    const c = await RawClient.connect(gw.port);
    cleanups.push(() => c.socket.destroy());
    c.send(serialize.startup({ user: "postgres", database: db, application_name: app }));
    const greeting = await c.waitFor((m) => m.name === "readyForQuery");
    const key = greeting.find((m) => m.name === "backendKeyData") as unknown as {
      processID: number;
      secretKey: number;
    };
    const { id } = await untilNative(gw, c.socket);
    c.send(serialize.query("SELECT pg_sleep(30)"));
    const d = directClient();
    await d.connect();
    await until(
      async () =>
        (
          await d.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'",
            [app],
          )
        ).rows[0].n === 1,
      5000,
      "statement running",
    );
    await d.end();
    const k = await RawClient.connect(gw.port);
    k.send(serialize.cancel(key.processID, key.secretKey));
    const got = await c.waitFor((m) => m.name === "error", 5000);
    expect(got.at(-1)).toMatchObject({ code: "57014" });
    await c.untilReady();
    c.send(serialize.query("SELECT 1"));
    expect((await c.untilReady()).map((m) => m.name)).toEqual([
      "rowDescription",
      "dataRow",
      "commandComplete",
      "readyForQuery",
    ]);
    await k.closedPromise();
    expect(nativeIdOf(sessionAt(gw, c.socket.localPort!)!)).toBe(id);
  });

  it("malformed client messages after the hand-over get FATAL 08P01; other sessions keep working", async () => {
    const gw = await gateway({ limits: { max_message_bytes: 1 << 20 } });
    const { c: bystander, id } = await nativeClient(gw);
    const cases: [string, Buffer][] = [
      ["illegal type byte", Buffer.from([0x01, 0, 0, 0, 4])],
      ["length below 4", Buffer.from([0x51, 0, 0, 0, 3])],
      ["oversized length", Buffer.concat([Buffer.from([0x51]), Buffer.from([0, 0x20, 0, 5]), Buffer.from("SELECT")])],
    ];
    for (const [i, [name, bytes]] of cases.entries()) {
      const app = `smg_native_bad_${i}`;
      const bad = await nativeRaw(gw, { application_name: app });
      bad.c.send(serialize.query("SELECT 7"));
      await bad.c.untilReady(); // a normal query first: the relay forwards it
      bad.c.send(bytes);
      const [err] = await bad.c.waitFor((m) => m.name === "error", 5000);
      expect(err, name).toMatchObject({ code: "08P01", severity: "FATAL" });
      await bad.c.closedPromise();
      await backendGone(app);
      expect((await bystander.query("SELECT $1::int AS n", [i])).rows).toEqual([{ n: i }]);
    }
    expect(nativeIdOf(sessionAt(gw, streamOf(bystander).localPort!)!)).toBe(id);
    const { c: fresh } = await nativeClient(gw);
    expect((await fresh.query("SELECT 3 AS ok")).rows).toEqual([{ ok: 3 }]);
  });

  it("a client that disconnects in the middle of a large result releases its server backend", async () => {
    const gw = await gateway();
    const app = "smg_native_leaver";
    const { c } = await nativeRaw(gw, { application_name: app });
    c.send(serialize.query("SELECT g, repeat('x', 100) FROM generate_series(1, 20000000) g"));
    await c.waitFor((m) => m.name === "dataRow");
    const d = directClient();
    await d.connect();
    try {
      const running = await d.query("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [app]);
      expect(running.rows.length).toBe(1);
      const pid = running.rows[0].pid as number;
      c.socket.destroy();
      const t0 = Date.now();
      await until(
        async () =>
          (await d.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1", [pid])).rows[0].n === 0,
        5000,
        `backend ${pid} gone`,
      );
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await d.end();
    }
    await until(() => gw.gateway.pg!.sessions.size === 0, 5000, "session closed");
  });

  it("pg_terminate_backend on a native session gives the client an error; new sessions work", async () => {
    const gw = await gateway();
    const { c } = await nativeClient(gw);
    const errors: { code?: string }[] = [];
    c.on("error", (e) => errors.push(e as { code?: string }));
    const pid = (await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
    const d = directClient();
    await d.connect();
    await d.query("SELECT pg_terminate_backend($1)", [pid]);
    await d.end();
    await until(() => errors.length > 0, 5000, "client error");
    await expect(c.query("SELECT 1")).rejects.toThrow();
    expect(errors.some((e) => e.code === "57P01")).toBe(true);
    expect(errors.some((e) => e.code === "08006")).toBe(false); // the server said why; smgate adds nothing
    await until(() => gw.gateway.pg!.sessions.size === 0, 5000, "session closed");
    const { c: fresh } = await nativeClient(gw);
    expect((await fresh.query("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
  });

  it("the sockets of native sessions close as soon as the sessions end (no descriptor waits for a timer)", async () => {
    const gw = await gateway();
    await nativeClient(gw); // the relay thread (epoll, eventfd) exists before the baseline
    const fds = () => readdirSync("/proc/self/fd").length;
    const base = fds();
    const clients: pg.Client[] = [];
    for (let i = 0; i < 10; i++) clients.push((await nativeClient(gw)).c);
    expect(relay.count).toBe(11);
    expect(fds()).toBeGreaterThanOrEqual(base + 30); // client, gateway-side and server sockets of each session
    await Promise.all(clients.map((c) => c.end()));
    await until(() => gw.gateway.pg!.sessions.size === 1, 5000, "sessions closed");
    await until(() => fds() <= base, 1000, `descriptors back to ${base} (now ${fds()})`);
  });

  it("native_relay: false keeps sessions in JavaScript", async () => {
    const gw = await gateway({ pg: { native_relay: false } });
    const c = gw.client(db);
    await c.connect();
    cleanups.push(() => c.end().catch(() => {}));
    for (let i = 0; i < 3; i++) expect((await c.query("SELECT $1::int AS n", [i])).rows).toEqual([{ n: i }]);
    await new Promise((r) => setTimeout(r, 200));
    const s = sessionAt(gw, streamOf(c).localPort!)!;
    expect(s).toBeDefined();
    expect(nativeIdOf(s)).toBeUndefined();
    expect(relay.count).toBe(0);
  });
});

describe("native relay: pgbench", () => {
  let gw: TestGateway;
  let bench: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    bench = await createTestDatabase("native_bench");
    await run("pgbench", ["-h", "127.0.0.1", "-p", String(gw.port), "-U", "postgres", "-i", "-s", "1", "-q", bench]);
  }, 120_000);

  afterAll(async () => {
    await gw?.stop(500);
    if (bench) await dropTestDatabase(bench);
  });

  for (const mode of ["prepared", "simple"]) {
    it(`-S -M ${mode}, 8 clients, 5 s: 0 failed transactions, all 8 sessions native at once`, async () => {
      let most = 0;
      const poll = setInterval(() => {
        most = Math.max(most, relay.count);
      }, 20);
      const args = ["-h", "127.0.0.1", "-p", String(gw.port), "-U", "postgres", "-c", "8", "-j", "2", "-T", "5"];
      try {
        const { stdout } = await run("pgbench", [...args, "-S", "-M", mode, bench], { maxBuffer: 1 << 24 });
        const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? Number.NaN);
        expect(num(/number of failed transactions: (\d+)/)).toBe(0);
        expect(num(/number of transactions actually processed: (\d+)/)).toBeGreaterThan(1000);
      } finally {
        clearInterval(poll);
      }
      expect(most).toBe(8);
      await until(() => gw.gateway.pg!.sessions.size === 0, 5000, "pgbench sessions closed");
    }, 60_000);
  }
});
