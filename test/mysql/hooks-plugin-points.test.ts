// The plug-in points the rewrite engine will use, exercised against the real MariaDB with a toy "encryption"
// (value -> "enc:" + base64(value)): onQuery rewrite / refusal, onPrepare plan, onExecute parameter rewrite,
// onColumnDefinitions (type shown to the client, hidden companion columns) and onRows in batches for text and
// binary resultsets, refusal in the middle of a resultset. Each test reads through smgate and directly.
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ColumnDefinition, MysqlGateway, MysqlSessionHooks } from "../../proxy/mysql/index.js";
import { createDatabase, direct, dropDatabase, startGateway, viaGateway } from "./gateway-harness.js";

const LONG = 0x03;
const VAR_STRING = 0xfd;
const enc = (b: Buffer) => Buffer.from(`enc:${b.toString("base64")}`);
const dec = (b: Buffer) => {
  const s = b.toString("latin1");
  if (!s.startsWith("enc:")) throw new Error("not an envelope");
  return Buffer.from(s.slice(4), "base64");
};
const PROTECTED = new Set(["secret", "num"]);

const toyHooks: MysqlSessionHooks = {
  onQuery(_ctx, _req, sql) {
    if (sql.includes("/*deny*/"))
      return { error: { code: 1142, state: "42000", message: "SELECT command denied (toy)" } };
    if (sql.includes("/*rewrite*/")) return { sql: sql.replace("'before'", "'after'") };
    return undefined;
  },
  onPrepare(_ctx, stmt) {
    if (stmt.sql.startsWith("INSERT INTO t_h")) stmt.plan = { encryptParams: [1, 2] };
    return undefined;
  },
  onExecute(_ctx, stmt, params) {
    const plan = stmt.plan as { encryptParams?: number[] } | undefined;
    if (!plan?.encryptParams) return undefined;
    const values = params.values.map((v, i) => (plan.encryptParams!.includes(i) && v ? enc(v) : v));
    const types = params.types.map((t, i) =>
      plan.encryptParams!.includes(i) ? { type: VAR_STRING, unsigned: false } : t,
    );
    return { params: { types, values } };
  },
  onColumnDefinitions(_ctx, _req, columns) {
    if (!columns.some((c) => PROTECTED.has(c.orgName) || c.orgName === "secret_mac")) return undefined;
    const shown: ColumnDefinition[] = columns.map((c) =>
      c.orgName === "num" ? { ...c, type: LONG, length: 11, flags: c.flags & ~0x80, charset: 63 } : c,
    );
    const hide = columns.flatMap((c, i) => (c.orgName === "secret_mac" ? [i] : []));
    return { columns: shown, hide };
  },
  onRows(_ctx, _req, rows) {
    for (let r = 0; r < rows.size; r++) {
      for (let c = 0; c < rows.columnCount; c++) {
        const v = rows.get(r, c);
        if (v === null || !v.toString("latin1").startsWith("enc:")) continue;
        if (v.toString("latin1") === "enc:!bad") {
          return { error: { code: 1235, state: "XX001", message: "integrity check failed (toy)" } };
        }
        rows.set(r, c, dec(v));
      }
    }
    return undefined;
  },
};

let gw: MysqlGateway;
let db: string;

beforeAll(async () => {
  db = await createDatabase("smg_mysql_hooks");
  gw = await startGateway({ hooks: () => toyHooks });
  const d = await direct(db);
  await d.query("CREATE TABLE t_h (id INT PRIMARY KEY, secret VARCHAR(200), num VARCHAR(100), secret_mac VARCHAR(20))");
  await d.end();
});

afterAll(async () => {
  await gw?.close();
  await dropDatabase(db);
});

describe("rewrite hooks", () => {
  it("holds the first commands until the session hooks are ready", async () => {
    const slow = await startGateway({
      hooks: () => {
        let loaded = false;
        return {
          ready: new Promise((r) => setTimeout(() => r((loaded = true)), 400)),
          onQuery: (_ctx, _req, sql) => (loaded ? { sql: sql.replace("'early'", "'hooked'") } : undefined),
        };
      },
    });
    try {
      const c = await viaGateway(slow);
      const [r] = await c.query<mysql.RowDataPacket[]>("SELECT 'early' AS v");
      expect(r).toEqual([{ v: "hooked" }]);
      await c.end();
    } finally {
      await slow.close();
    }
  });

  it("rewrites and refuses COM_QUERY statements; the session continues after a refusal", async () => {
    const c = await viaGateway(gw);
    const [r] = await c.query<mysql.RowDataPacket[]>("SELECT 'before' AS v /*rewrite*/");
    expect(r).toEqual([{ v: "after" }]);
    await expect(c.query("SELECT 1 /*deny*/")).rejects.toMatchObject({ errno: 1142, sqlState: "42000" });
    const [r2] = await c.query<mysql.RowDataPacket[]>("SELECT 'x' AS v");
    expect(r2).toEqual([{ v: "x" }]);
    await c.end();
  });

  it("encrypts execute parameters, stores ciphertext, and decrypts text and binary resultsets (3,000 rows)", async () => {
    const c = await viaGateway(gw, { database: db });
    await c.beginTransaction();
    for (let i = 1; i <= 3000; i++) {
      await c.execute("INSERT INTO t_h (id, secret, num, secret_mac) VALUES (?, ?, ?, ?)", [
        i,
        `patient-${i}-张`,
        i * 7,
        "mac",
      ]);
    }
    await c.commit();
    const d = await direct(db);
    const [stored] = await d.query<mysql.RowDataPacket[]>("SELECT secret, num FROM t_h WHERE id = 5");
    await d.end();
    expect(stored[0].secret).toBe(enc(Buffer.from("patient-5-张")).toString());
    expect(stored[0].num).toBe(enc(Buffer.from("35")).toString());

    const [text] = await c.query<mysql.RowDataPacket[]>("SELECT id, secret, num, secret_mac FROM t_h ORDER BY id");
    const [bin] = await c.execute<mysql.RowDataPacket[]>(
      "SELECT id, secret, num, secret_mac FROM t_h WHERE id > ? ORDER BY id",
      [0],
    );
    for (const rows of [text, bin]) {
      expect(rows).toHaveLength(3000);
      expect(rows[4]).toEqual({ id: 5, secret: "patient-5-张", num: 35 }); // num shown as INT, mac hidden
      expect(rows[2999]).toEqual({ id: 3000, secret: "patient-3000-张", num: 21000 });
    }
    await c.end();
  });

  it("shows the hook's column view in the COM_STMT_PREPARE answer (plaintext type, hidden companion)", async () => {
    const c = await viaGateway(gw, { database: db });
    const stmt = await c.prepare("SELECT id, num, secret_mac, secret FROM t_h WHERE id = ?");
    const info = (
      stmt as unknown as { statement: { columns: { name: string; columnType: number }[]; parameters: unknown[] } }
    ).statement;
    expect(info.columns.map((col) => col.name)).toEqual(["id", "num", "secret"]);
    expect(info.columns[1].columnType).toBe(LONG);
    expect(info.parameters).toHaveLength(1);
    const [rows] = (await stmt.execute([5])) as unknown as [mysql.RowDataPacket[]];
    expect(rows).toEqual([{ id: 5, num: 35, secret: "patient-5-张" }]);
    await stmt.close();
    const d = await viaGateway(gw, { database: db });
    const [plain] = await d.execute<mysql.RowDataPacket[]>("SELECT ? + 1 AS n", [1]);
    expect(plain).toEqual([{ n: 2 }]);
    await d.end();
    await c.end();
  });

  it("refuses (1235) when a transformed value does not fit the column type shown, and the session continues", async () => {
    const bad = await startGateway({
      hooks: () => ({
        onColumnDefinitions: (_ctx, _req, columns) => ({ columns: columns.map((c) => ({ ...c, type: LONG })) }),
        onRows: () => undefined,
      }),
    });
    try {
      const c = await viaGateway(bad, { database: db });
      await expect(c.execute("SELECT secret FROM t_h WHERE id = ?", [1])).rejects.toMatchObject({ errno: 1235 });
      const [r] = await c.query<mysql.RowDataPacket[]>("SELECT 1 AS one FROM DUAL");
      expect(r).toHaveLength(1);
      await c.end();
    } finally {
      await bad.close();
    }
  });

  it("refuses in the middle of a resultset with an ERR and keeps the session usable", async () => {
    const c = await viaGateway(gw, { database: db });
    const d = await direct(db);
    await d.query("INSERT INTO t_h VALUES (900001, 'enc:!bad', NULL, NULL)");
    await d.end();
    await expect(c.query("SELECT secret FROM t_h ORDER BY id")).rejects.toMatchObject({
      errno: 1235,
      sqlState: "XX001",
    });
    await expect(c.execute("SELECT secret FROM t_h WHERE id > ? ORDER BY id", [0])).rejects.toMatchObject({
      errno: 1235,
    });
    const [r] = await c.query<mysql.RowDataPacket[]>("SELECT secret FROM t_h WHERE id = 1");
    expect(r).toEqual([{ secret: "patient-1-张" }]);
    await c.end();
  });
});
