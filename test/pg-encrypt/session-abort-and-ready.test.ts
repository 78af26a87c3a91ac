// Session machinery the encryption layer relies on, against the real server: a DataRows hook can abort a
// streaming result (the client gets the ErrorResponse, no further rows, no CommandComplete, then
// ReadyForQuery, and the session stays usable), Bind result formats can be replaced, and the session awaits
// hooks.ready before the first statement.
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeDataRow } from "../../proxy/pg/backend-messages.js";
import type { SessionHooks } from "../../proxy/pg/hooks.js";
import { startTestGateway, type TestGateway } from "../pg/gateway-fixture.js";

let gw: TestGateway;
let readyResolved = false;
let seenBeforeReady = 0;

function hooks(): SessionHooks {
  return {
    ready: new Promise((resolve) =>
      setTimeout(() => {
        readyResolved = true;
        resolve(undefined);
      }, 50),
    ),
    onQuery() {
      if (!readyResolved) seenBeforeReady++;
      return undefined;
    },
    onDataRows(_ctx, _req, rows) {
      // abort when a row's first value is "bad"
      for (const r of rows) {
        const v = decodeDataRow(r, 0, r.length)[0];
        if (v?.toString() === "bad") return { error: { C: "XX001", M: "integrity check failed for column t.x" } };
      }
      return undefined;
    },
  };
}

beforeAll(async () => {
  gw = await startTestGateway({ hooks: () => hooks() });
});
afterAll(async () => {
  await gw?.stop();
});

describe("session machinery for the encryption layer", () => {
  it("awaits hooks.ready before statements reach the hooks", async () => {
    const c = gw.client();
    await c.connect();
    try {
      await c.query("SELECT 1");
      expect(readyResolved).toBe(true);
      expect(seenBeforeReady).toBe(0);
    } finally {
      await c.end();
    }
  });

  it("aborts a streaming result from onDataRows: error, no more rows, session usable (simple + extended)", async () => {
    const c = gw.client();
    await c.connect();
    try {
      const sql = "SELECT CASE WHEN g = 3000 THEN 'bad' ELSE 'ok' END AS x FROM generate_series(1, 5000) g";
      await expect(c.query(sql)).rejects.toMatchObject({ code: "XX001" });
      expect((await c.query("SELECT 'ok' AS x, 2 AS y")).rows).toEqual([{ x: "ok", y: 2 }]);
      await expect(c.query({ text: sql.replace("3000", "$1::int"), values: [10] })).rejects.toMatchObject({
        code: "XX001",
      });
      const r = await c.query({ text: "SELECT $1::text AS x", values: ["fine"] });
      expect(r.rows).toEqual([{ x: "fine" }]);
      // inside a transaction the client sees the error; the session still answers afterwards
      await c.query("BEGIN");
      await expect(c.query(sql)).rejects.toMatchObject({ code: "XX001" });
      await c.query("ROLLBACK");
      expect((await c.query("SELECT 'ok' AS x")).rowCount).toBe(1);
    } finally {
      await c.end();
    }
  });

  it("replaces Bind result formats (the server sends text when asked, the portal shape follows)", async () => {
    const seen: number[][] = [];
    const gw2 = await startTestGateway({
      hooks: () => ({
        onBind: (_ctx, _portal, params) => ({ params, resultFormats: [0] }),
        onDataRows: (_ctx, req, rows) => {
          seen.push((req?.rowDescription ?? []).map((f) => f.format));
          return rows;
        },
      }),
    });
    const c = gw2.client();
    await c.connect();
    try {
      // client asks for binary; the hook makes the server answer in text, so the raw value is the text "42"
      // `binary` is a node-postgres query option its type definitions do not list
      const cfg = { text: "SELECT 42::int4 AS n", values: [], binary: true } as unknown as pg.QueryConfig;
      const r = await c.query(cfg);
      expect(seen.at(-1)).toEqual([0]);
      expect(r.rows.length).toBe(1);
    } finally {
      await c.end();
      await gw2.stop();
    }
  });
});
