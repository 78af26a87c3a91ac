// LOAD DATA LOCAL INFILE: refused by default (CLIENT_LOCAL_FILES stripped, the server answers 1148 and no file
// leaves the client) and relayed when the gateway enables it (rows land in the real MariaDB table).
import { Readable } from "node:stream";
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MysqlGateway } from "../../proxy/mysql/index.js";
import { createDatabase, direct, dropDatabase, startGateway, viaGateway } from "./gateway-harness.js";

let db: string;
let closed: MysqlGateway[] = [];

beforeAll(async () => {
  db = await createDatabase("smg_mysql_infile");
  const d = await direct(db);
  await d.query("CREATE TABLE t_in (id INT PRIMARY KEY, v VARCHAR(20))");
  await d.end();
});

afterAll(async () => {
  for (const g of closed) await g.close();
  closed = [];
  await dropDatabase(db);
});

async function load(gw: MysqlGateway, rows: string): Promise<{ asked: boolean; result: unknown }> {
  const c = await viaGateway(gw, { database: db });
  let asked = false;
  try {
    const [res] = await c.query({
      sql: "LOAD DATA LOCAL INFILE 'rows.tsv' INTO TABLE t_in",
      infileStreamFactory: () => {
        asked = true;
        return Readable.from([Buffer.from(rows)]);
      },
    } as mysql.QueryOptions);
    return { asked, result: res };
  } catch (err) {
    return { asked, result: err };
  } finally {
    await c.end();
  }
}

describe("LOAD DATA LOCAL INFILE", () => {
  it("is refused by default and no file content is requested from the client", async () => {
    const gw = await startGateway();
    closed.push(gw);
    const r = await load(gw, "1\tone\n");
    expect(r.asked).toBe(false);
    // MariaDB 10.11 answers 4166 ER_LOAD_INFILE_CAPABILITY_DISABLED (MySQL: 1148) since the capability is stripped
    expect([1148, 4166]).toContain((r.result as { errno?: number }).errno);
    const d = await direct(db);
    const [rows] = await d.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM t_in");
    await d.end();
    expect(Number(rows[0].n)).toBe(0);
  });

  it("is relayed when enabled (allowLocalInfile)", async () => {
    const gw = await startGateway({ allowLocalInfile: true });
    closed.push(gw);
    const r = await load(gw, "1\tone\n2\ttwo\n3\tthree\n");
    expect(r.asked).toBe(true);
    expect(r.result).toMatchObject({ affectedRows: 3 });
    const d = await direct(db);
    const [rows] = await d.query<mysql.RowDataPacket[]>("SELECT id, v FROM t_in ORDER BY id");
    await d.end();
    expect(rows).toEqual([
      { id: 1, v: "one" },
      { id: 2, v: "two" },
      { id: 3, v: "three" },
    ]);
  });
});
