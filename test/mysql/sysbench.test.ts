// sysbench OLTP workloads through the gateway (short runs): oltp_read_only, oltp_point_select, oltp_insert with
// 4 threads for 5 s each against the real MariaDB in database smg_mysql_sb; every run must report 0 errors and
// at least some transactions. The table data prepared through smgate is checked directly on the server.
import { execFile } from "node:child_process";
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MysqlGateway } from "../../proxy/mysql/index.js";
import { direct, MARIADB, startGateway } from "./gateway-harness.js";

const DB = "smg_mysql_sb";

function sysbench(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile("sysbench", args, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? 1 : 0, out: stdout + stderr });
    });
  });
}

function figure(out: string, label: string): number {
  const m = new RegExp(`${label}:\\s+(\\d+)`).exec(out);
  if (!m) throw new Error(`sysbench output has no "${label}" line:\n${out}`);
  return Number(m[1]);
}

describe("sysbench through the gateway", () => {
  let gw: MysqlGateway;
  let common: string[];

  beforeAll(async () => {
    const c = await direct();
    await c.query(`DROP DATABASE IF EXISTS ${DB}`);
    await c.query(`CREATE DATABASE ${DB}`);
    await c.end();
    gw = await startGateway();
    common = [
      "--mysql-host=127.0.0.1",
      `--mysql-port=${gw.address().port}`,
      `--mysql-user=${MARIADB.user}`,
      `--mysql-db=${DB}`,
      "--mysql-ssl=off",
      "--tables=2",
      "--table-size=2000",
      "--db-driver=mysql",
    ];
    const prep = await sysbench(["oltp_read_only", ...common, "prepare"]);
    expect(prep.code, prep.out).toBe(0);
  });

  afterAll(async () => {
    await gw?.close();
    const c = await direct();
    await c.query(`DROP DATABASE IF EXISTS ${DB}`);
    await c.end();
  });

  it("prepared the tables through smgate (checked directly)", async () => {
    const c = await direct(DB);
    const [r] = await c.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM sbtest1");
    await c.end();
    expect(Number(r[0].n)).toBe(2000);
  });

  for (const workload of ["oltp_read_only", "oltp_point_select", "oltp_insert"]) {
    it(`${workload}: 4 threads, 5 s, 0 errors`, async () => {
      const run = await sysbench([workload, ...common, "--threads=4", "--time=5", "--report-interval=0", "run"]);
      expect(run.code, run.out).toBe(0);
      expect(figure(run.out, "transactions"), run.out).toBeGreaterThan(0);
      expect(/errors:\s+0\s/.test(run.out), run.out).toBe(true);
      expect(/ignored errors:\s+0\s/.test(run.out), run.out).toBe(true);
      console.log(
        `${workload} via smgate: ${/transactions:\s+\d+\s+\(([\d.]+) per sec/.exec(run.out)?.[1]} tps, ` +
          `${/queries:\s+\d+\s+\(([\d.]+) per sec/.exec(run.out)?.[1]} qps`,
      );
    });
  }
});
