// The encryption layer's plug-in point (SessionHooks) against the real server: every backend response is
// matched to the statement/portal that produced it (pipelines included), DataRow batches and row
// descriptions can be transformed, statements rewritten, and refusals answered in pipeline order.
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeDataRow, encodeDataRow, type FieldDescription } from "../../proxy/pg/backend-messages.js";
import type { SessionHooks } from "../../proxy/pg/hooks.js";
import type { PendingRequest } from "../../proxy/pg/session-context.js";
import { startTestGateway, type TestGateway } from "./gateway-fixture.js";
import { names, RawClient, serialize } from "./raw-client.js";

let gw: TestGateway;
const seen: { sql: string | undefined; rows: number }[] = [];

/** Upper-cases text values of result columns named "secret"; refuses SQL mentioning forbidden_table. */
const hooks: SessionHooks = {
  onQuery(_ctx, sql) {
    if (sql.includes("forbidden_table")) return { error: { C: "42501", M: "permission denied by smgate policy" } };
    if (sql === "SELECT 'rewrite me' AS secret") return { sql: "SELECT 'rewritten' AS secret" };
    return undefined;
  },
  onParse(_ctx, stmt) {
    if (stmt.sql.includes("forbidden_table")) return { error: { C: "42501", M: "permission denied by smgate policy" } };
    stmt.plan = { tag: `plan for ${stmt.sql}` };
    return undefined;
  },
  onRowDescription(_ctx, _req, fields) {
    return fields.map((f) => (f.name === "secret" ? { ...f, name: "secret_shown" } : f));
  },
  onDataRows(_ctx, req: PendingRequest | undefined, rows) {
    const sql = req?.sql ?? req?.portal?.statement?.sql;
    seen.push({ sql, rows: rows.length });
    const fields: FieldDescription[] | null | undefined = req?.rowDescription;
    const idx = fields?.findIndex((f) => f.name === "secret") ?? -1;
    if (idx < 0) return undefined;
    return rows.map((r) => {
      const values = decodeDataRow(r, 0, r.length);
      const v = values[idx];
      if (v) values[idx] = Buffer.from(v.toString("utf8").toUpperCase());
      return encodeDataRow(values);
    });
  },
};

beforeAll(async () => {
  gw = await startTestGateway({ hooks: () => hooks });
});

afterAll(async () => {
  await gw?.stop();
});

describe("session hooks", () => {
  it("transforms DataRows of the right column in simple and extended queries (row description matched)", async () => {
    const c = gw.client();
    await c.connect();
    try {
      const a = await c.query("SELECT 'abc' AS secret, 'def' AS other; SELECT 'ghi' AS other, 'jkl' AS secret");
      const [r1, r2] = a as unknown as pg.QueryResult[];
      expect(r1.rows).toEqual([{ secret_shown: "ABC", other: "def" }]);
      expect(r2.rows).toEqual([{ other: "ghi", secret_shown: "JKL" }]);
      const b = await c.query({
        name: "named",
        text: "SELECT $1::text AS secret, g FROM generate_series(1, 3) g",
        values: ["xyz"],
      });
      expect(b.rows.map((r) => r.secret_shown)).toEqual(["XYZ", "XYZ", "XYZ"]);
      // second execution of the named statement (no Parse): still matched through the portal
      const b2 = await c.query({
        name: "named",
        text: "SELECT $1::text AS secret, g FROM generate_series(1, 3) g",
        values: ["uvw"],
      });
      expect(b2.rows.map((r) => r.secret_shown)).toEqual(["UVW", "UVW", "UVW"]);
    } finally {
      await c.end();
    }
  });

  it("rewrites a simple Query before it reaches the server", async () => {
    const c = gw.client();
    await c.connect();
    try {
      expect((await c.query("SELECT 'rewrite me' AS secret")).rows).toEqual([{ secret_shown: "REWRITTEN" }]);
    } finally {
      await c.end();
    }
  });

  it("matches each pipelined result to its own statement", async () => {
    seen.length = 0;
    const c = gw.client("test", { pipeline: true } as Partial<pg.ClientConfig>);
    await c.connect();
    try {
      const ps = [
        c.query("SELECT 'a' AS secret FROM generate_series(1, 2)", []),
        c.query("SELECT 'b' AS x FROM generate_series(1, 3) WHERE $1", [true]),
        c.query("SELECT 'c' AS secret FROM generate_series(1, 4) WHERE $1", [true]),
      ];
      const rs = await Promise.all(ps);
      expect(rs[0].rows).toEqual([{ secret_shown: "A" }, { secret_shown: "A" }]);
      expect(rs[1].rows.length).toBe(3);
      expect(rs[2].rows.map((r) => r.secret_shown)).toEqual(["C", "C", "C", "C"]);
      const bySql = new Map<string, number>();
      for (const s of seen) bySql.set(s.sql ?? "?", (bySql.get(s.sql ?? "?") ?? 0) + s.rows);
      expect(Object.fromEntries(bySql)).toEqual({
        "SELECT 'a' AS secret FROM generate_series(1, 2)": 2,
        "SELECT 'b' AS x FROM generate_series(1, 3) WHERE $1": 3,
        "SELECT 'c' AS secret FROM generate_series(1, 4) WHERE $1": 4,
      });
    } finally {
      await c.end();
    }
  });

  it("answers a refused simple Query with 42501 + ReadyForQuery; the session continues", async () => {
    const c = gw.client();
    await c.connect();
    try {
      await expect(c.query("SELECT * FROM forbidden_table")).rejects.toMatchObject({ code: "42501" });
      expect((await c.query("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
    } finally {
      await c.end();
    }
  });

  it("answers a refused Parse in pipeline order and skips to Sync, like the server would", async () => {
    const c = await RawClient.startup(gw.port);
    const group = (sql: string) => [
      serialize.parse({ text: sql }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.sync(),
    ];
    c.send(...group("SELECT 1"), ...group("SELECT * FROM forbidden_table"), ...group("SELECT 3"));
    const msgs = await c.untilReady(3);
    expect(names(msgs)).toEqual([
      "parseComplete",
      "bindComplete",
      "dataRow",
      "commandComplete",
      "readyForQuery",
      "error",
      "readyForQuery",
      "parseComplete",
      "bindComplete",
      "dataRow",
      "commandComplete",
      "readyForQuery",
    ]);
    expect(msgs[5]).toMatchObject({ code: "42501" });
    c.end();
  });

  it("keeps statements and portals in the session context (with the plan slot)", async () => {
    let captured: import("../../proxy/pg/session-context.js").SessionContext | undefined;
    const probe = await startTestGateway({
      hooks: (ctx) => {
        captured = ctx;
        return { onParse: hooks.onParse };
      },
    });
    try {
      const c = probe.client();
      await c.connect();
      await c.query({ name: "s_one", text: "SELECT $1::int AS v", values: [1] });
      await c.query({ name: "s_two", text: "SELECT $1::int + 1 AS v", values: [1] });
      await expect(c.query({ name: "s_bad", text: "SELEC nope", values: [] })).rejects.toMatchObject({ code: "42601" });
      await c.query("SELECT 1"); // node-postgres rejects before the ReadyForQuery arrives: wait for one
      const ctx = captured!;
      expect([...ctx.statements.keys()].sort()).toEqual(["s_one", "s_two"]);
      expect(ctx.statements.get("s_one")?.plan).toEqual({ tag: "plan for SELECT $1::int AS v" });
      expect(ctx.statements.get("s_one")?.rowDescription?.map((f) => f.name)).toBeUndefined(); // pg does not Describe S
      expect(ctx.user).toBe("postgres");
      expect(ctx.pipeline.length).toBe(0);
      expect(ctx.transactionStatus).toBe("I");
      expect(ctx.serverParams.get("server_version")).toMatch(/^15\./);
      await c.end();
    } finally {
      await probe.stop();
    }
  });
});
