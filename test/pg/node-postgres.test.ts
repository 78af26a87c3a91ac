// node-postgres through the gateway against the real PostgreSQL 15: simple and extended protocol,
// binary results, transactions, errors, cancel, pipelining, large results, COPY, LISTEN/NOTIFY, notices.

import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  directClient,
  dropTestDatabase,
  startTestGateway,
  type TestGateway,
} from "./gateway-fixture.js";

let gw: TestGateway;
let db: string;

beforeAll(async () => {
  gw = await startTestGateway();
  db = await createTestDatabase("nodepg");
});

afterAll(async () => {
  await gw?.stop();
  if (db) await dropTestDatabase(db);
});

async function withClient<T>(fn: (c: pg.Client) => Promise<T>, extra: Partial<pg.ClientConfig> = {}): Promise<T> {
  const c = gw.client(db, extra);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe("node-postgres through smgate", () => {
  it("runs simple-protocol queries (text results, several statements in one Query)", async () => {
    await withClient(async (c) => {
      const r = await c.query("SELECT 1 AS one, 'héllo 世界'::text AS s, NULL::int AS n");
      expect(r.rows).toEqual([{ one: 1, s: "héllo 世界", n: null }]);
      const multi = (await c.query("SELECT 1 AS a; SELECT 2 AS b")) as unknown as pg.QueryResult[];
      expect(multi.map((x) => x.rows[0])).toEqual([{ a: 1 }, { b: 2 }]);
      const empty = await c.query("");
      expect(empty.rows ?? []).toEqual([]);
    });
  });

  it("runs prepared (named, extended protocol) queries repeatedly with parameters", async () => {
    await withClient(async (c) => {
      for (let i = 0; i < 20; i++) {
        const r = await c.query({
          name: "add",
          text: "SELECT $1::int + $2::int AS sum, $3::text AS t",
          values: [i, 1000, `v${i}`],
        });
        expect(r.rows[0]).toEqual({ sum: i + 1000, t: `v${i}` });
      }
      const bytes = Buffer.from([0, 1, 2, 255, 0, 10]);
      const r = await c.query("SELECT $1::bytea AS b", [bytes]);
      expect(Buffer.compare(r.rows[0].b, bytes)).toBe(0);
    });
  });

  it("returns binary-format results unchanged (Bind with result format 1)", async () => {
    // identity type parsers: the test sees the raw binary values and checks them against the documented
    // PostgreSQL binary send formats (big-endian int4/int8, IEEE-754 float8, raw bytea/text bytes)
    const raw = { getTypeParser: () => (v: unknown) => v } as unknown as pg.CustomTypesConfig;
    await withClient(
      async (c) => {
        const r = await c.query({
          text: "SELECT 42::int4 AS i, 3.5::float8 AS f, 'abc'::text AS t, '\\x00417f'::bytea AS b, 9007199254740993::int8 AS big, $1::int4 AS p",
          values: [5],
          types: raw,
        });
        expect(r.fields.every((f) => (f as unknown as { format: string }).format === "binary")).toBe(true);
        const hex = (k: string) => Buffer.from(r.rows[0][k]).toString("hex");
        expect(hex("i")).toBe("0000002a");
        expect(hex("f")).toBe("400c000000000000");
        expect(hex("t")).toBe("616263");
        expect(hex("b")).toBe("00417f"); // (pg hands binary values over as UTF-8 strings, so keep bytes < 0x80)
        expect(hex("big")).toBe("0020000000000001");
        expect(hex("p")).toBe("00000005");
      },
      { binary: true } as Partial<pg.ClientConfig>,
    );
  });

  it("keeps transaction semantics (rollback, commit, failed transaction state)", async () => {
    await withClient(async (c) => {
      await c.query("CREATE TABLE tx_t (id int primary key, v text)");
      await c.query("BEGIN");
      await c.query("INSERT INTO tx_t VALUES (1, 'gone')");
      await c.query("ROLLBACK");
      await c.query("BEGIN");
      await c.query("INSERT INTO tx_t VALUES (2, 'kept')");
      await expect(c.query("INSERT INTO tx_t VALUES (2, 'dup')")).rejects.toMatchObject({ code: "23505" });
      await expect(c.query("SELECT 1")).rejects.toMatchObject({ code: "25P02" });
      await c.query("ROLLBACK");
      await c.query("BEGIN");
      await c.query("INSERT INTO tx_t VALUES (3, 'kept')");
      await c.query("COMMIT");
    });
    const d = directClient(db);
    await d.connect();
    try {
      expect((await d.query("SELECT id FROM tx_t ORDER BY id")).rows).toEqual([{ id: 3 }]);
    } finally {
      await d.end();
    }
  });

  it("relays errors with SQLSTATE and position, and the session stays usable", async () => {
    await withClient(async (c) => {
      await expect(c.query("SELEC 1")).rejects.toMatchObject({ code: "42601", position: "1" });
      await expect(c.query("SELECT 1/0")).rejects.toMatchObject({ code: "22012" });
      await expect(c.query("SELECT $1::int", ["nope"])).rejects.toMatchObject({ code: "22P02" });
      expect((await c.query("SELECT 7 AS x")).rows).toEqual([{ x: 7 }]);
    });
  });

  it("cancels a running query through pg's cancel (smgate maps its key to the server's)", async () => {
    await withClient(async (c) => {
      const q = c.query("SELECT pg_sleep(30)");
      await new Promise((r) => setTimeout(r, 300));
      // the key the client got is smgate's, not the server's
      const direct = directClient(db);
      await direct.connect();
      const pids = (await direct.query("SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'")).rows;
      await direct.end();
      expect(pids.length).toBe(1);
      expect((c as unknown as { processID: number }).processID).not.toBe(pids[0].pid);
      const started = Date.now();
      const canceller = gw.client(db);
      (canceller as unknown as { cancel(c: pg.Client, q: unknown): void }).cancel(
        c,
        (c as unknown as { activeQuery: unknown }).activeQuery,
      );
      await expect(q).rejects.toMatchObject({ code: "57014" });
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await c.query("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
    });
  });

  it("passes pipelined queries (pg pipeline mode) in order", async () => {
    await withClient(
      async (c) => {
        const ps = [];
        for (let i = 0; i < 50; i++) ps.push(c.query("SELECT $1::int * 2 AS d", [i]));
        ps.push(c.query("SELECT 1/0").catch((e: { code: string }) => ({ rows: [{ err: e.code }] })));
        for (let i = 50; i < 60; i++) ps.push(c.query("SELECT $1::int * 2 AS d", [i]));
        const rs = await Promise.all(ps);
        expect(rs.slice(0, 50).map((r) => r.rows[0].d)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
        expect(rs[50].rows[0]).toEqual({ err: "22012" });
        expect(rs.slice(51).map((r) => r.rows[0].d)).toEqual(Array.from({ length: 10 }, (_, i) => (i + 50) * 2));
      },
      { pipeline: true } as Partial<pg.ClientConfig>,
    );
  });

  it("streams 10,000-row results (simple and extended)", async () => {
    await withClient(async (c) => {
      const a = await c.query("SELECT g, md5(g::text) AS h FROM generate_series(1, 10000) g");
      expect(a.rowCount).toBe(10000);
      expect(a.rows[9999]).toEqual({ g: 10000, h: "b7a782741f667201b54880c925faec4b" });
      const b = await c.query("SELECT g, repeat('x', $1::int) AS pad FROM generate_series(1, 10000) g", [200]);
      expect(b.rowCount).toBe(10000);
      expect(b.rows.reduce((s, r) => s + r.g, 0)).toBe(50005000);
      expect(b.rows.every((r) => r.pad.length === 200)).toBe(true);
    });
  });

  it("copies in and out with pg-copy-streams", async () => {
    await withClient(async (c) => {
      await c.query("CREATE TABLE copy_t (id int, name text, data bytea)");
      const lines: string[] = [];
      for (let i = 1; i <= 5000; i++) lines.push(`${i}\tname ${i} é\t\\\\x0${i % 10}ff\n`);
      await pipeline(Readable.from(lines), c.query(copyFrom("COPY copy_t FROM STDIN")));
      const n = await c.query("SELECT count(*)::int AS n, sum(id)::int AS s FROM copy_t");
      expect(n.rows[0]).toEqual({ n: 5000, s: 12502500 });
      const chunks: Buffer[] = [];
      await pipeline(
        c.query(copyTo("COPY (SELECT id, name FROM copy_t ORDER BY id) TO STDOUT")),
        new Writable({
          write(chunk, _enc, cb) {
            chunks.push(chunk);
            cb();
          },
        }),
      );
      const out = Buffer.concat(chunks).toString("utf8").split("\n");
      expect(out.length).toBe(5001);
      expect(out[0]).toBe("1\tname 1 é");
      expect(out[4999]).toBe("5000\tname 5000 é");
      // a COPY the client aborts is relayed as CopyFail and the session continues
      const bad = pipeline(
        Readable.from(
          (async function* () {
            yield "1\tx\t\\\\x00\n";
            throw new Error("client gave up");
          })(),
        ),
        c.query(copyFrom("COPY copy_t FROM STDIN")),
      );
      await expect(bad).rejects.toThrow();
      expect((await c.query("SELECT count(*)::int AS n FROM copy_t")).rows[0].n).toBe(5000);
    });
  });

  it("copies binary format out and back in unchanged", async () => {
    await withClient(async (c) => {
      await c.query("CREATE TABLE copy_bin_a (id int, b bytea, t text)");
      await c.query("CREATE TABLE copy_bin_b (LIKE copy_bin_a)");
      await c.query(
        "INSERT INTO copy_bin_a SELECT g, decode(lpad(to_hex(g), 8, '0') || 'ff00', 'hex'), 'é' || g FROM generate_series(1, 3000) g",
      );
      const chunks: Buffer[] = [];
      await pipeline(
        c.query(copyTo("COPY copy_bin_a TO STDOUT (FORMAT binary)")),
        new Writable({
          write(chunk, _enc, cb) {
            chunks.push(chunk);
            cb();
          },
        }),
      );
      const data = Buffer.concat(chunks);
      // the binary COPY signature per the PostgreSQL documentation
      expect(data.subarray(0, 11).toString("latin1")).toBe("PGCOPY\n\xff\r\n\0");
      await pipeline(Readable.from([data]), c.query(copyFrom("COPY copy_bin_b FROM STDIN (FORMAT binary)")));
      const diff = await c.query(
        "SELECT count(*)::int AS n FROM (SELECT * FROM copy_bin_a EXCEPT SELECT * FROM copy_bin_b) d",
      );
      expect(diff.rows[0].n).toBe(0);
      expect((await c.query("SELECT count(*)::int AS n FROM copy_bin_b")).rows[0].n).toBe(3000);
    });
  });

  it("delivers LISTEN/NOTIFY notifications and notices", async () => {
    const listener = gw.client(db);
    await listener.connect();
    try {
      const got = new Promise<pg.Notification>((resolve) => listener.on("notification", resolve));
      await listener.query("LISTEN smg_chan");
      await withClient(async (c) => {
        await c.query("NOTIFY smg_chan, 'payload ✓'");
        const notices: string[] = [];
        c.on("notice", (n) => notices.push(n.message ?? ""));
        await c.query("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$");
        expect(notices).toEqual(["hello 42"]);
      });
      const n = await got;
      expect(n.channel).toBe("smg_chan");
      expect(n.payload).toBe("payload ✓");
    } finally {
      await listener.end();
    }
  });
});
