// The native relay (native/, C addon) carrying MySQL sessions without hooks, against the real MariaDB: each test
// first waits until its sessions are really relayed natively (nativeRelay.count rises; the suite fails loudly
// when the addon is not built), then proves that text and prepared queries, large and multi-result answers match
// a direct connection; that commands only JavaScript handles (COM_INIT_DB, KILL QUERY, COM_CHANGE_USER, LOCAL
// INFILE) work and the session goes native again; that a graceful shutdown lets an open transaction finish;
// that sysbench runs with every session native; and that nativeRelay: false keeps sessions in JavaScript.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import type mysql from "mysql2/promise";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import type { MysqlGateway } from "../../proxy/mysql/index.js";
import { NATIVE_RELAY_ERROR, nativeRelay } from "../../proxy/native/relay.js";
import {
  createDatabase,
  direct,
  dropDatabase,
  MARIADB,
  startGateway,
  uniqueName,
  viaGateway,
} from "./gateway-harness.js";

if (!nativeRelay) {
  throw new Error(`native relay addon not built (npm run build:native): ${NATIVE_RELAY_ERROR ?? "unknown error"}`);
}
const relay = nativeRelay;

/** Number of relay.attach() calls so far (each one is a session handed to the native relay). */
const attachSpy = vi.spyOn(relay, "attach");
const attaches = () => attachSpy.mock.calls.length;

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what} (native count ${relay.count}, attaches ${attaches()})`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Wait until exactly `n` sessions are inside the native relay. */
const nativeCount = (n: number, ms?: number) => until(`${n} native session(s)`, () => relay.count === n, ms);

// COM_INIT_DB is not in mysql2's API: a command of our own, built on mysql2's Command class
const require = createRequire(import.meta.url);
const mysql2Dir = dirname(require.resolve("mysql2"));
const Command = require(join(mysql2Dir, "lib/commands/command.js"));
const Packet = require(join(mysql2Dir, "lib/packets/packet.js"));

class InitDb extends Command {
  constructor(
    private readonly db: string,
    readonly onResult: (err?: Error) => void,
  ) {
    super();
  }
  start(_p: unknown, connection: { writePacket(p: unknown): void }) {
    const name = Buffer.from(this.db, "utf8");
    const buf = Buffer.alloc(5 + name.length);
    buf[4] = 0x02; // COM_INIT_DB
    name.copy(buf, 5);
    connection.writePacket(new Packet(0, buf, 0, buf.length));
    return InitDb.prototype.done;
  }
  done() {
    process.nextTick(() => this.onResult());
    return null;
  }
}

function initDb(c: mysql.Connection, db: string): Promise<void> {
  const inner = (c as unknown as { connection: { addCommand(cmd: unknown): void } }).connection;
  return new Promise((resolve, reject) => inner.addCommand(new InitDb(db, (err) => (err ? reject(err) : resolve()))));
}

const threadId = (c: mysql.Connection) => (c as unknown as { connection: { threadId: number } }).connection.threadId;

/** Resolves when the connection is closed (end or fatal error). */
function closedSignal(c: mysql.Connection): Promise<string> {
  const inner = (c as unknown as { connection: NodeJS.EventEmitter & { stream: NodeJS.EventEmitter } }).connection;
  return new Promise((resolve) => {
    inner.on("error", (e: Error & { code?: string }) => resolve(`error ${e.code ?? e.message}`));
    inner.stream.once("close", () => resolve("close"));
  });
}

let db: string;
let otherDb: string;
let gw: MysqlGateway;
const open: mysql.Connection[] = [];

async function connect(g: MysqlGateway, extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  const c = await viaGateway(g, { database: db, ...extra });
  (c as unknown as { connection: NodeJS.EventEmitter }).connection.on("error", () => {});
  open.push(c);
  return c;
}

/** A gateway session, returned once it is native (the relay count rose by one). */
async function nativeSession(g: MysqlGateway = gw, extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  const before = relay.count;
  const c = await connect(g, extra);
  await nativeCount(before + 1);
  return c;
}

beforeAll(async () => {
  db = await createDatabase("smg_native");
  otherDb = await createDatabase("smg_native_other");
  const d = await direct(db);
  await d.query(
    "CREATE TABLE t_types (id INT PRIMARY KEY, i BIGINT, d DECIMAL(12,4), f DOUBLE, s VARCHAR(64), b VARBINARY(64), " +
      "dt DATETIME(3), dd DATE, j JSON, n INT NULL)",
  );
  await d.query(
    "INSERT INTO t_types VALUES (1, 9007199254740993, 1234.5678, 2.5, 'héllo', x'00ff10', '2024-02-29 13:14:15.123', " +
      "'2024-02-29', '{\"a\":[1,2]}', NULL), (2, -5, -0.0001, -1e300, '', x'', '1970-01-01 00:00:00', '1000-01-01', " +
      "'null', 7), (3, 0, 0, 0, 'x''y', NULL, NULL, NULL, NULL, NULL)",
  );
  await d.query("CREATE TABLE t_big (id INT PRIMARY KEY, v VARCHAR(64), n DOUBLE)");
  await d.query("INSERT INTO t_big SELECT seq, CONCAT('row-', seq, '-', MD5(seq)), seq / 7 FROM seq_1_to_50000");
  await d.query(
    "CREATE PROCEDURE two_results(IN lim INT) BEGIN SELECT id, s FROM t_types ORDER BY id; " +
      "SELECT id, v FROM t_big WHERE id <= lim ORDER BY id; END",
  );
  await d.query("CREATE TABLE t_tx (id INT PRIMARY KEY)");
  await d.query("CREATE TABLE t_in (id INT PRIMARY KEY, v VARCHAR(20))");
  await d.end();
  const o = await direct(otherDb);
  await o.query("CREATE TABLE t_other (x INT)");
  await o.query("INSERT INTO t_other VALUES (42)");
  await o.end();
  gw = await startGateway();
});

afterEach(async () => {
  for (const c of open.splice(0)) await c.end().catch(() => c.destroy());
  await until("sessions to leave the relay", () => relay.count === 0).catch(() => {});
});

afterAll(async () => {
  await gw?.close();
  await dropDatabase(db);
  await dropDatabase(otherDb);
});

describe("native MySQL sessions give the same answers as a direct connection", () => {
  it("text queries, prepared statements with several parameter types, 50,000 rows and CALL with two results", async () => {
    const c = await nativeSession();
    const d = await direct(db);
    onTestFinished(() => d.end());
    const attached = attaches();

    const text = [
      "SELECT * FROM t_types ORDER BY id",
      "SELECT 1 AS one, 'two' AS two, NULL AS three, 4.5 AS four",
      "SELECT id, v, n FROM t_big ORDER BY id",
    ];
    for (const sql of text) {
      const [viaRows, viaFields] = await c.query(sql);
      const [dirRows, dirFields] = await d.query(sql);
      expect(viaRows, sql).toEqual(dirRows);
      expect((viaFields as mysql.FieldPacket[]).map((f) => [f.name, f.type])).toEqual(
        (dirFields as mysql.FieldPacket[]).map((f) => [f.name, f.type]),
      );
    }
    const [big] = await c.query<mysql.RowDataPacket[]>("SELECT id, v, n FROM t_big ORDER BY id");
    expect(big.length).toBe(50_000);
    expect(big[49_999]).toMatchObject({ id: 50_000, v: expect.stringMatching(/^row-50000-/) });

    const stmts: [string, mysql.ExecuteValues][] = [
      ["SELECT * FROM t_types WHERE id = ?", [1]],
      ["SELECT * FROM t_types WHERE s = ? OR id = ?", ["héllo", "3"]],
      ["SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e, ? AS f", [1.25, null, 10n, Buffer.from([0, 1, 255]), true, -7]],
      ["SELECT ? AS dt", [new Date(Date.UTC(2024, 1, 29, 13, 14, 15, 123))]],
      ["SELECT id, v FROM t_big WHERE id BETWEEN ? AND ? ORDER BY id", [100, 20_100]],
      ["SELECT * FROM t_types WHERE d > ? ORDER BY id", ["-1.5"]],
    ];
    for (const [sql, params] of stmts) {
      const [viaRows] = await c.execute(sql, params);
      const [dirRows] = await d.execute(sql, params);
      expect(viaRows, sql).toEqual(dirRows);
    }
    // the same statement re-executed with other parameter types
    for (const v of [1, "2", 3.5, null, 10n]) {
      const [viaRows] = await c.execute("SELECT ? AS v, id FROM t_types WHERE id <= 2 ORDER BY id", [v]);
      const [dirRows] = await d.execute("SELECT ? AS v, id FROM t_types WHERE id <= 2 ORDER BY id", [v]);
      expect(viaRows).toEqual(dirRows);
    }

    const [viaCall] = await c.query("CALL two_results(1000)");
    const [dirCall] = await d.query("CALL two_results(1000)");
    expect(viaCall).toEqual(dirCall);
    const sets = viaCall as unknown[];
    expect(sets.length).toBe(3); // two resultsets + the final OK
    expect((sets[1] as unknown[]).length).toBe(1000);
    const [viaExecCall] = await c.execute("CALL two_results(?)", [5]);
    const [dirExecCall] = await d.execute("CALL two_results(?)", [5]);
    expect(viaExecCall).toEqual(dirExecCall);

    // none of this needed JavaScript: the session never left the relay
    expect(relay.count).toBe(1);
    expect(attaches()).toBe(attached);
  }, 60_000);
});

describe("commands JavaScript handles, then native again", () => {
  it("COM_INIT_DB: handed back, switches the database, then the session is native again", async () => {
    const c = await nativeSession();
    const attached = attaches();
    await initDb(c, otherDb);
    await until("the session to go native again", () => attaches() === attached + 1 && relay.count === 1);
    const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT DATABASE() AS db, x FROM t_other");
    expect(rows).toEqual([{ db: otherDb, x: 42 }]);
    const [p] = await c.execute<mysql.RowDataPacket[]>("SELECT x + ? AS y FROM t_other", [1]);
    expect(p).toEqual([{ y: 43 }]);
    await expect(initDb(c, "smg_no_such_db_xyz")).rejects.toMatchObject({ errno: 1049 });
    await until("native again after the refused INIT_DB", () => attaches() === attached + 2 && relay.count === 1);
    const [still] = await c.query<mysql.RowDataPacket[]>("SELECT DATABASE() AS db");
    expect(still).toEqual([{ db: otherDb }]);
    expect(relay.count).toBe(1);
  });

  it("KILL QUERY <smgate id> of another gateway session running SELECT SLEEP(20); both go native again", async () => {
    const sleeper = await nativeSession();
    const killer = await nativeSession();
    const sleeperId = threadId(sleeper);
    const [backendIdRows] = await sleeper.query<mysql.RowDataPacket[]>("SELECT CONNECTION_ID() AS id");
    // the client sees smgate's id, not the server's thread id
    expect(sleeperId).not.toBe(Number(backendIdRows[0].id));
    const attached = attaches();
    const started = Date.now();
    const sleeping = sleeper.query<mysql.RowDataPacket[]>("SELECT SLEEP(20) AS s").then(
      ([r]): { ok?: number; errno?: number } => ({ ok: r[0].s as number }),
      (e: { errno?: number }): { ok?: number; errno?: number } => ({ errno: e.errno }),
    );
    const d = await direct();
    onTestFinished(() => d.end());
    for (let i = 0; i < 200; i++) {
      const [pl] = await d.query<mysql.RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'SELECT SLEEP%'",
        [Number(backendIdRows[0].id)],
      );
      if (Number(pl[0].n) === 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(relay.count).toBe(2); // the sleeping session is still native
    await killer.query(`KILL QUERY ${sleeperId}`);
    const outcome = await sleeping;
    expect(Date.now() - started).toBeLessThan(10_000);
    // MariaDB: SLEEP interrupted by KILL QUERY returns 1 (or the query fails with 1317)
    expect(outcome.ok === 1 || outcome.errno === 1317, JSON.stringify(outcome)).toBe(true);
    // the killer was handed back for its KILL and goes native again; the sleeper never left
    await until("the killer to go native again", () => attaches() === attached + 1 && relay.count === 2);
    const [a] = await sleeper.query<mysql.RowDataPacket[]>("SELECT 1 + 1 AS v");
    const [b] = await killer.execute<mysql.RowDataPacket[]>("SELECT ? AS v", ["ok"]);
    expect(a).toEqual([{ v: 2 }]);
    expect(b).toEqual([{ v: "ok" }]);
    expect(relay.count).toBe(2);
  }, 30_000);

  it("COM_CHANGE_USER through a native session (to another user and back), then native again", async () => {
    const user = uniqueName("smg_nu");
    const d = await direct();
    await d.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw-123'`);
    await d.query(`GRANT SELECT ON \`${otherDb}\`.* TO '${user}'@'%'`);
    await d.query(`GRANT SELECT ON \`${db}\`.* TO '${user}'@'%'`);
    onTestFinished(async () => {
      await d.query(`DROP USER IF EXISTS '${user}'@'%'`);
      await d.end();
    });
    const c = await nativeSession();
    const attached = attaches();
    await c.changeUser({ user, password: "pw-123", database: otherDb });
    await until("native again after COM_CHANGE_USER", () => attaches() > attached && relay.count === 1);
    const [who] = await c.query<mysql.RowDataPacket[]>("SELECT CURRENT_USER() AS u, DATABASE() AS db, x FROM t_other");
    expect(who).toEqual([{ u: `${user}@%`, db: otherDb, x: 42 }]);
    await expect(c.query("SELECT * FROM mysql.user")).rejects.toMatchObject({ errno: 1142 });
    const [p] = await c.execute<mysql.RowDataPacket[]>("SELECT x * ? AS y FROM t_other", [2]);
    expect(p).toEqual([{ y: 84 }]);
    const again = attaches();
    // (mysql2 cannot change back to a user with an empty password: it sends a non-empty token, also directly)
    await c.changeUser({ user, password: "pw-123", database: db });
    await until("native again after the second COM_CHANGE_USER", () => attaches() > again && relay.count === 1);
    const [back] = await c.query<mysql.RowDataPacket[]>("SELECT DATABASE() AS db, COUNT(*) AS n FROM t_types");
    expect(back).toEqual([{ db, n: 3 }]);
    expect(relay.count).toBe(1);
  });
});

describe("LOAD DATA LOCAL INFILE from a native session", () => {
  const load = (c: mysql.Connection, rows: string, onAsk: () => void) =>
    c.query({
      sql: "LOAD DATA LOCAL INFILE 'rows.tsv' INTO TABLE t_in",
      infileStreamFactory: () => {
        onAsk();
        return Readable.from([Buffer.from(rows)]);
      },
    } as mysql.QueryOptions);

  it("is relayed when allowLocalInfile is true", async () => {
    const g = await startGateway({ allowLocalInfile: true });
    onTestFinished(() => g.close());
    const d = await direct(db);
    onTestFinished(() => d.end());
    await d.query("DELETE FROM t_in");
    const c = await nativeSession(g);
    const attached = attaches();
    let asked = 0;
    const [res] = await load(c, "1\tone\n2\ttwo\n3\tthree\n", () => asked++);
    expect(asked).toBe(1);
    expect(res).toMatchObject({ affectedRows: 3 });
    // a second file with a (small) file written to disk, via the path mysql2 asks for
    const file = join(tmpdir(), `${uniqueName("smg_infile")}.tsv`);
    writeFileSync(file, "4\tfour\n");
    const [res2] = await c.query({
      sql: `LOAD DATA LOCAL INFILE '${file}' INTO TABLE t_in`,
      infileStreamFactory: (path: string) => {
        asked++;
        expect(path).toBe(file);
        return Readable.from([Buffer.from("4\tfour\n")]);
      },
    } as mysql.QueryOptions);
    expect(res2).toMatchObject({ affectedRows: 1 });
    expect(asked).toBe(2);
    const [rows] = await d.query<mysql.RowDataPacket[]>("SELECT id, v FROM t_in ORDER BY id");
    expect(rows).toEqual([
      { id: 1, v: "one" },
      { id: 2, v: "two" },
      { id: 3, v: "three" },
      { id: 4, v: "four" },
    ]);
    // relayed natively: no handback
    expect(attaches()).toBe(attached);
    expect(relay.count).toBe(1);
    const [after] = await c.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM t_in");
    expect(after).toEqual([{ n: 4 }]);
  });

  it("is refused (1148 / MariaDB 4166) when disabled, nothing is read from the client, the session goes on", async () => {
    const d = await direct(db);
    onTestFinished(() => d.end());
    await d.query("DELETE FROM t_in");
    const c = await nativeSession(gw);
    let asked = 0;
    const err = await load(c, "9\tnine\n", () => asked++).then(
      () => undefined,
      (e: { errno?: number }) => e,
    );
    expect(asked).toBe(0);
    // the capability is stripped at the handshake: MariaDB 10.11 answers 4166, MySQL 1148
    expect([1148, 4166]).toContain(err?.errno);
    const [rows] = await d.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM t_in");
    expect(rows).toEqual([{ n: 0 }]);
    await nativeCount(1);
    const [ok] = await c.query<mysql.RowDataPacket[]>("SELECT 'alive' AS s");
    expect(ok).toEqual([{ s: "alive" }]);
  });
});

describe("graceful shutdown with native sessions", () => {
  it("an idle session closes at once; one inside a transaction finishes it (COMMIT ok) and is then closed", async () => {
    const g = await startGateway();
    onTestFinished(() => g.close());
    const inTx = await nativeSession(g);
    const idle = await nativeSession(g);
    await inTx.query("BEGIN");
    await inTx.query("INSERT INTO t_tx VALUES (1)");
    await nativeCount(2);
    const idleClosed = closedSignal(idle);
    const txClosed = closedSignal(inTx);
    let shutdownDone = false;
    const started = Date.now();
    const shutdown = g.shutdown(20_000).then(() => {
      shutdownDone = true;
    });
    expect(await idleClosed).toMatch(/^(error|close)/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(g.connections()).toBe(1);
    expect(shutdownDone).toBe(false);
    // the transaction goes on: more work, then COMMIT
    await inTx.query("INSERT INTO t_tx VALUES (2)");
    const [commit] = await inTx.query("COMMIT");
    expect(commit).toMatchObject({ serverStatus: expect.any(Number) });
    expect(await txClosed).toMatch(/^(error|close)/);
    await shutdown;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(g.connections()).toBe(0);
    const d = await direct(db);
    const [rows] = await d.query<mysql.RowDataPacket[]>("SELECT id FROM t_tx ORDER BY id");
    await d.query("DELETE FROM t_tx");
    await d.end();
    expect(rows).toEqual([{ id: 1 }, { id: 2 }]);
  }, 30_000);
});

function sysbench(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile("sysbench", args, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? 1 : 0, out: stdout + stderr });
    });
  });
}

describe("sysbench through native sessions", () => {
  it("oltp_point_select, 4 threads, 5 s: 0 errors and every session native during the run", async () => {
    const sbDb = uniqueName("smg_native_sb");
    const c0 = await direct();
    await c0.query(`CREATE DATABASE ${sbDb}`);
    await c0.end();
    onTestFinished(() => dropDatabase(sbDb));
    const common = [
      "--mysql-host=127.0.0.1",
      `--mysql-port=${gw.address().port}`,
      `--mysql-user=${MARIADB.user}`,
      `--mysql-db=${sbDb}`,
      "--mysql-ssl=off",
      "--tables=2",
      "--table-size=2000",
      "--db-driver=mysql",
    ];
    const prep = await sysbench(["oltp_point_select", ...common, "prepare"]);
    expect(prep.code, prep.out).toBe(0);
    await nativeCount(0);
    const attached = attaches();
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(relay.count), 20);
    const run = await sysbench([
      "oltp_point_select",
      ...common,
      "--threads=4",
      "--time=5",
      "--report-interval=0",
      "run",
    ]).finally(() => clearInterval(sampler));
    expect(run.code, run.out).toBe(0);
    expect(/errors:\s+0\s/.test(run.out), run.out).toBe(true);
    expect(/ignored errors:\s+0\s/.test(run.out), run.out).toBe(true);
    const tx = /transactions:\s+(\d+)\s+\(([\d.]+) per sec/.exec(run.out);
    expect(Number(tx?.[1]), run.out).toBeGreaterThan(0);
    // 4 worker sessions (sysbench may also open one more for its own setup): each handed over once, never back
    const handed = attaches() - attached;
    expect(handed).toBeGreaterThanOrEqual(4);
    expect(handed).toBeLessThanOrEqual(5);
    const first4 = samples.indexOf(4);
    expect(first4, `samples ${samples.join(",")}`).toBeGreaterThanOrEqual(0);
    const during = samples.slice(first4, samples.lastIndexOf(4) + 1);
    expect(during.length).toBeGreaterThan(100); // ~5 s at 20 ms
    expect(
      during.every((n) => n === 4),
      `samples ${during.join(",")}`,
    ).toBe(true);
    console.log(
      `oltp_point_select via native relay: ${tx?.[2]} tps (loadavg ${readFileSync("/proc/loadavg", "utf8").trim()})`,
    );
  }, 90_000);
});

describe("nativeRelay: false", () => {
  it("keeps sessions in JavaScript (count stays 0, no attach)", async () => {
    const g = await startGateway({ nativeRelay: false });
    onTestFinished(() => g.close());
    await nativeCount(0);
    const attached = attaches();
    const c = await connect(g);
    const c2 = await connect(g);
    await new Promise((r) => setTimeout(r, 100));
    const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM t_big");
    const [p] = await c2.execute<mysql.RowDataPacket[]>("SELECT id FROM t_types WHERE id = ?", [2]);
    await initDb(c, otherDb);
    await new Promise((r) => setTimeout(r, 100));
    expect(rows).toEqual([{ n: 50_000 }]);
    expect(p).toEqual([{ id: 2 }]);
    expect(relay.count).toBe(0);
    expect(attaches()).toBe(attached);
  });
});
