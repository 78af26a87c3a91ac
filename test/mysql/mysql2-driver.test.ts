// mysql2 through the gateway against the real MariaDB: text and prepared protocol with many types, pools,
// transactions, large results, errors, > 16 MiB packets, stored-procedure multi-resultsets, COM_CHANGE_USER,
// connection attributes in the session context, KILL QUERY mapping. Every value read through smgate is compared
// with the same read made directly against the server.
import { createHash } from "node:crypto";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { MysqlGateway, MysqlSessionContext } from "../../proxy/mysql/index.js";
import {
  createDatabase,
  direct,
  dropDatabase,
  MARIADB,
  startGateway,
  uniqueName,
  viaGateway,
} from "./gateway-harness.js";

let gw: MysqlGateway;
let db: string;
const sessions: MysqlSessionContext[] = [];

beforeAll(async () => {
  db = await createDatabase("smg_mysql_drv");
  gw = await startGateway({
    hooks: (ctx) => {
      sessions.push(ctx);
      return undefined;
    },
  });
  const c = await direct(db);
  await c.query(`CREATE TABLE t_types (
    id INT PRIMARY KEY AUTO_INCREMENT,
    i INT, bi BIGINT, ubi BIGINT UNSIGNED, ti TINYINT, si SMALLINT, d DECIMAL(20,6), dbl DOUBLE, f FLOAT,
    dt DATETIME(6), dd DATE, tm TIME(3), ts TIMESTAMP(3) NULL, y YEAR, vc VARCHAR(200), ch CHAR(5), b BLOB, j JSON,
    e ENUM('a','b'), bt BIT(8)
  ) CHARSET utf8mb4`);
  await c.end();
});

afterAll(async () => {
  await gw?.close();
  await dropDatabase(db);
});

const row = {
  i: -123456,
  bi: "-9007199254740993",
  ubi: "18446744073709551615",
  ti: -128,
  si: 32767,
  d: "12345678901234.123456",
  dbl: 1.5e300,
  f: 0.5,
  dt: "2024-02-29 23:59:58.123456",
  dd: "1999-12-31",
  tm: "-838:59:59.000",
  ts: "2038-01-19 03:14:07.999",
  y: 2155,
  vc: "héllo 世界 😀",
  ch: "abc",
  b: Buffer.from([0, 1, 2, 255, 254, 0x27, 0x5c]),
  j: '{"k": [1, 2]}',
  e: "b",
};

const opts = { supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, decimalNumbers: false } as const;

describe("mysql2 text and prepared protocol", () => {
  it("round-trips many types via execute (binary) and query (text), identical to a direct read", async () => {
    const c = await viaGateway(gw, { database: db, ...opts });
    const cols = Object.keys(row);
    const [res] = await c.execute<mysql.ResultSetHeader>(
      `INSERT INTO t_types (${cols.join(",")}, bt) VALUES (${cols.map(() => "?").join(",")}, b'10100101')`,
      Object.values(row),
    );
    expect(res.affectedRows).toBe(1);
    await c.execute("INSERT INTO t_types (i, vc, b, dt) VALUES (?, ?, ?, ?)", [null, null, null, null]);

    const [viaExec] = await c.execute<mysql.RowDataPacket[]>("SELECT * FROM t_types WHERE id >= ? ORDER BY id", [0]);
    const [viaText] = await c.query<mysql.RowDataPacket[]>("SELECT * FROM t_types ORDER BY id");
    const d = await mysql.createConnection({ ...MARIADB, database: db, ...opts });
    const [directExec] = await d.execute<mysql.RowDataPacket[]>("SELECT * FROM t_types WHERE id >= ? ORDER BY id", [0]);
    const [directText] = await d.query<mysql.RowDataPacket[]>("SELECT * FROM t_types ORDER BY id");
    await d.end();
    expect(viaExec).toHaveLength(2);
    expect(viaExec).toEqual(directExec);
    expect(viaText).toEqual(directText);
    expect(viaText[0].j).toEqual({ k: [1, 2] }); // MariaDB extended metadata (json) passes through
    const r0 = viaExec[0];
    expect(r0.i).toBe(row.i);
    expect(r0.bi).toBe(row.bi);
    expect(r0.ubi).toBe(row.ubi);
    expect(r0.d).toBe(row.d);
    expect(r0.dt).toBe(row.dt);
    expect(r0.dd).toBe(row.dd);
    expect(r0.vc).toBe(row.vc);
    expect(Buffer.compare(r0.b, row.b)).toBe(0);
    expect(r0.bt).toEqual(Buffer.from([0xa5]));
    expect(viaExec[1].i).toBeNull();
    expect(viaExec[1].b).toBeNull();
    await c.end();
  });

  it("reuses a prepared statement with re-bound parameter types and tracks it in the session context", async () => {
    // the statements JavaScript tracks per session (the native relay, which carries hookless sessions, keeps none)
    const jsGw = await startGateway({
      nativeRelay: false,
      hooks: (ctx) => {
        sessions.push(ctx);
        return undefined;
      },
    });
    onTestFinished(() => jsGw.close());
    const c = await viaGateway(jsGw, { database: db, connectAttributes: { program_name: "stmt-tracker" } });
    const ctx = sessions.find((s) => s.app === "stmt-tracker")!;
    expect(ctx).toBeDefined();
    for (const v of [1, "2", 3.5, null, 10n]) {
      const [r] = await c.execute<mysql.RowDataPacket[]>("SELECT ? AS v", [v]);
      expect(r).toHaveLength(1);
    }
    const stmts = [...ctx.statements.values()];
    const s = stmts.find((x) => x.sql === "SELECT ? AS v");
    expect(s?.paramCount).toBe(1);
    expect(s?.columns.map((col) => col.name)).toEqual(["v"]);
    expect(s?.paramTypes?.length).toBe(1);
    const [r] = await c.execute<mysql.RowDataPacket[]>(`SELECT vc, i FROM t_types WHERE id = ?`, [1]);
    const s2 = [...ctx.statements.values()].find((x) => x.sql.startsWith("SELECT vc, i"));
    expect(s2?.columns.map((col) => [col.orgTable, col.orgName])).toEqual([
      ["t_types", "vc"],
      ["t_types", "i"],
    ]);
    expect(r[0].vc).toBe(row.vc);
    await c.end();
  });
});

describe("mysql2 pools and transactions", () => {
  it("serves 200 concurrent queries over a pool of 4", async () => {
    const { host, port } = gw.address();
    const pool = mysql.createPool({ host, port, user: "root", database: db, connectionLimit: 4 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => pool.execute<mysql.RowDataPacket[]>("SELECT ? * 2 AS x", [i])),
    );
    expect(results.map(([r]) => Number(r[0].x))).toEqual(results.map((_, i) => i * 2));
    await pool.end();
  });

  it("commits and rolls back", async () => {
    const c = await viaGateway(gw, { database: db });
    await c.query("CREATE TABLE t_tx (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB");
    await c.beginTransaction();
    await c.execute("INSERT INTO t_tx VALUES (?, ?)", [1, "rolled"]);
    await c.rollback();
    await c.beginTransaction();
    await c.execute("INSERT INTO t_tx VALUES (?, ?)", [2, "kept"]);
    await c.commit();
    const [r] = await c.query<mysql.RowDataPacket[]>("SELECT id, v FROM t_tx");
    const d = await direct(db);
    const [stored] = await d.query<mysql.RowDataPacket[]>("SELECT id, v FROM t_tx");
    await d.end();
    expect(r).toEqual([{ id: 2, v: "kept" }]);
    expect(stored).toEqual(r);
    await c.end();
  });
});

describe("mysql2 large results and large packets", () => {
  it("streams 100,000 rows (text and binary) with the right sum", async () => {
    const c = await viaGateway(gw, { database: db });
    const [t] = await c.query<mysql.RowDataPacket[]>("SELECT seq, CONCAT('row-', seq) AS s FROM seq_1_to_100000");
    expect(t).toHaveLength(100_000);
    expect(t.reduce((a, r) => a + Number(r.seq), 0)).toBe(5_000_050_000);
    expect(t[99_999].s).toBe("row-100000");
    const [b] = await c.execute<mysql.RowDataPacket[]>("SELECT seq FROM seq_1_to_100000 WHERE seq > ?", [0]);
    expect(b).toHaveLength(100_000);
    expect(b.reduce((a, r) => a + Number(r.seq), 0)).toBe(5_000_050_000);
    await c.end();
  });

  it("relays > 16 MiB packets both ways (split packets), prepared and text", async () => {
    const admin = await direct();
    const [[before]] = await admin.query<mysql.RowDataPacket[]>("SELECT @@global.max_allowed_packet AS m");
    const needed = 96 * 1024 * 1024;
    if (Number(before.m) < needed) await admin.query(`SET GLOBAL max_allowed_packet = ${needed}`);
    try {
      const c = await viaGateway(gw, { database: db, maxPreparedStatements: 4 });
      await c.query("CREATE TABLE t_big (id INT PRIMARY KEY, b LONGBLOB)");
      const big = Buffer.alloc(20 * 1024 * 1024 + 12345);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
      const sha = createHash("sha256").update(big).digest("hex");
      await c.execute("INSERT INTO t_big VALUES (?, ?)", [1, big]);
      await c.query("INSERT INTO t_big VALUES (2, ?)", [big]); // client-side escaping: one > 16 MiB COM_QUERY
      const [viaExec] = await c.execute<mysql.RowDataPacket[]>("SELECT b FROM t_big WHERE id = ?", [1]);
      const [viaText] = await c.query<mysql.RowDataPacket[]>("SELECT b, LENGTH(b) AS n FROM t_big WHERE id = 2");
      expect(createHash("sha256").update(viaExec[0].b).digest("hex")).toBe(sha);
      expect(createHash("sha256").update(viaText[0].b).digest("hex")).toBe(sha);
      const d = await direct(db);
      const [stored] = await d.query<mysql.RowDataPacket[]>("SELECT SHA2(b, 256) AS h FROM t_big ORDER BY id");
      await d.end();
      expect(stored.map((r) => r.h)).toEqual([sha, sha]);
      await c.end();
    } finally {
      if (Number(before.m) < needed) await admin.query(`SET GLOBAL max_allowed_packet = ${Number(before.m)}`);
      await admin.end();
    }
  });
});

describe("mysql2 errors, procedures, change user, attributes, KILL", () => {
  it("relays server errors with code and SQLSTATE, and the connection stays usable", async () => {
    const c = await viaGateway(gw, { database: db });
    await expect(c.query("SELEC 1")).rejects.toMatchObject({ errno: 1064, sqlState: "42000" });
    await expect(c.execute("SELECT * FROM no_such_table WHERE x = ?", [1])).rejects.toMatchObject({
      errno: 1146,
      sqlState: "42S02",
    });
    await c.query("CREATE TABLE t_err (id INT PRIMARY KEY)");
    await c.query("INSERT INTO t_err VALUES (1)");
    await expect(c.execute("INSERT INTO t_err VALUES (?)", [1])).rejects.toMatchObject({
      errno: 1062,
      sqlState: "23000",
    });
    const [r] = await c.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM t_err");
    expect(Number(r[0].n)).toBe(1);
    await c.end();
  });

  it("refuses multi-statements by default", async () => {
    const c = await viaGateway(gw, { multipleStatements: true });
    await expect(c.query("SELECT 1; SELECT 2")).rejects.toMatchObject({ errno: 1064 });
    await c.end();
  });

  it("returns the multi-resultsets of a stored procedure (text and prepared)", async () => {
    const c = await viaGateway(gw, { database: db });
    await c.query(
      "CREATE PROCEDURE p_multi(IN n INT) BEGIN SELECT n AS a; SELECT n + 1 AS b, 'two' AS c; SELECT seq FROM seq_1_to_3; END",
    );
    const [text] = await c.query<mysql.RowDataPacket[][]>("CALL p_multi(5)");
    expect(text[0]).toEqual([{ a: 5 }]);
    expect(text[1]).toEqual([{ b: 6, c: "two" }]);
    expect(text[2].map((r) => Number(r.seq))).toEqual([1, 2, 3]);
    const [prep] = await c.execute<mysql.RowDataPacket[][]>("CALL p_multi(?)", [7]);
    expect(prep[0]).toEqual([{ a: 7 }]);
    expect(prep[1]).toEqual([{ b: 8, c: "two" }]);
    const [after] = await c.query<mysql.RowDataPacket[]>("SELECT 42 AS x");
    expect(after).toEqual([{ x: 42 }]);
    await c.end();
  });

  it("changes user (COM_CHANGE_USER with mysql_native_password) and sees the new identity", async () => {
    const user = uniqueName("smg_mysql_u");
    const admin = await direct();
    await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw-Ch4nge'`);
    await admin.query(`CREATE USER '${user}'@'localhost' IDENTIFIED BY 'pw-Ch4nge'`);
    try {
      const c = await viaGateway(gw, { connectAttributes: { program_name: "change-user-test" } });
      const ctx = sessions.find((s) => s.app === "change-user-test")!;
      await c.changeUser({ user, password: "pw-Ch4nge" });
      const [r] = await c.query<mysql.RowDataPacket[]>("SELECT CURRENT_USER() AS u");
      expect(String(r[0].u).startsWith(`${user}@`)).toBe(true);
      expect(ctx.user).toBe(user);
      await expect(c.changeUser({ user, password: "wrong" })).rejects.toMatchObject({ errno: 1045 });
      await c.end().catch(() => {});
    } finally {
      await admin.query(`DROP USER '${user}'@'%'`);
      await admin.query(`DROP USER '${user}'@'localhost'`);
      await admin.end();
    }
  });

  it("parses connection attributes into the session context (program_name is the app)", async () => {
    const c = await viaGateway(gw, { database: db, connectAttributes: { program_name: "billing-api", team: "x" } });
    const ctx = sessions.find((s) => s.app === "billing-api");
    expect(ctx).toBeDefined();
    expect(ctx!.user).toBe("root");
    expect(ctx!.database).toBe(db);
    expect(ctx!.connectAttributes.get("team")).toBe("x");
    expect(ctx!.connectAttributes.get("_client_name")).toBeDefined();
    await c.query(`USE ${db}`);
    await c.end();
  });

  it("maps KILL QUERY <smgate id> to the backend thread and rejects foreign ids", async () => {
    const a = await viaGateway(gw, { connectAttributes: { program_name: "kill-victim" } });
    const b = await viaGateway(gw);
    const ctx = sessions.find((s) => s.app === "kill-victim")!;
    // the client sees smgate's id, not the server's
    expect(a.threadId).toBe(ctx.connectionId);
    const [[srv]] = await a.query<mysql.RowDataPacket[]>("SELECT CONNECTION_ID() AS id");
    expect(Number(srv.id)).toBe(ctx.backendThreadId);
    expect(ctx.backendThreadId).not.toBe(ctx.connectionId);
    const t0 = Date.now();
    // handlers attached at once: the rejection may arrive before KILL's own answer
    const victim: Promise<number> = a.query<mysql.RowDataPacket[]>("SELECT SLEEP(20) AS s").then(
      ([r]) => Number(r[0].s),
      (e: { errno: number }) => e.errno,
    );
    await new Promise((r) => setTimeout(r, 500));
    await b.query(`KILL QUERY ${a.threadId}`);
    const outcome = await victim;
    expect(Date.now() - t0).toBeLessThan(10_000);
    // MariaDB ends an interrupted SLEEP() with 1 (or ER_QUERY_INTERRUPTED)
    expect([1, 1317]).toContain(outcome);
    // the victim connection survives KILL QUERY
    const [after] = await a.query<mysql.RowDataPacket[]>("SELECT 1 AS one");
    expect(after).toEqual([{ one: 1 }]);
    // an id that is not a connection of this gateway (the server's own id for A) is refused
    await expect(b.query(`KILL QUERY ${ctx.backendThreadId + 100000}`)).rejects.toMatchObject({ errno: 1094 });
    await expect(b.query("KILL USER root")).rejects.toMatchObject({ errno: 1235 });
    await a.end();
    await b.end();
  });
});
