// The sysbench driver against the real MariaDB (own database, dropped after): prepare, a 2-second
// oltp_point_select run whose parsed figures are consistent with each other (not timed), and a clear error when
// the server cannot be reached.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MYSQL, mysqlQuery } from "../../bench/drivers/mysql-client.js";
import { prepareSysbench, runSysbench, sysbenchRunArgs } from "../../bench/drivers/sysbench.js";
import { freePort } from "../../bench/net.js";

const DB = `smg_bench_t_sb_${randomBytes(4).toString("hex")}`;
const SERVER = { ...DEFAULT_MYSQL };
const TABLES = { tables: 2, tableSize: 1000 };

describe("sysbench driver (real MariaDB)", () => {
  beforeAll(async () => {
    await mysqlQuery(SERVER, `CREATE DATABASE ${DB}`);
    await prepareSysbench({ ...SERVER, database: DB }, TABLES);
  });

  afterAll(async () => {
    await mysqlQuery(SERVER, `DROP DATABASE IF EXISTS ${DB}`);
  });

  it("prepare created the OLTP tables with their rows", async () => {
    const rows = await mysqlQuery<{ n: number }>({ ...SERVER, database: DB }, "SELECT COUNT(*) AS n FROM sbtest2");
    expect(Number(rows[0].n)).toBe(1000);
  });

  it("a 2-second oltp_point_select run parses into consistent figures", async () => {
    const res = await runSysbench({
      ...SERVER,
      database: DB,
      ...TABLES,
      workload: "oltp_point_select",
      threads: 2,
      durationSec: 2,
    });
    const s = res.summary;
    expect(s.transactions).toBeGreaterThan(0);
    expect(s.queries).toBe(s.transactions); // one SELECT per point_select transaction
    expect(s.queriesPerformed.read).toBe(s.transactions);
    expect(s.events).toBe(s.transactions);
    expect(s.ignoredErrors).toBe(0);
    // sysbench divides by its own elapsed time, a hair off the printed total time: compare relatively (1%)
    expect(Math.abs(s.tps - s.transactions / s.totalTimeSec)).toBeLessThan(s.tps * 0.01);
    const histCount = (s.histogram ?? []).reduce((n, b) => n + b.count, 0);
    expect(histCount).toBe(s.transactions);
    expect(res.p95Ms).toBeGreaterThan(0);
    expect(res.p99Ms).toBeGreaterThanOrEqual(res.p95Ms);
    expect(res.p99Ms).toBeLessThanOrEqual(s.latency.maxMs * 1.05);
    expect(res.args).toEqual(expect.arrayContaining(["oltp_point_select", "--threads=2", "--time=2", "run"]));
  });

  it("builds the run command with the histogram and no event limit", () => {
    const args = sysbenchRunArgs({
      ...SERVER,
      database: DB,
      ...TABLES,
      workload: "oltp_read_only",
      threads: 8,
      durationSec: 20,
    });
    expect(args[0]).toBe("oltp_read_only");
    expect(args).toEqual(
      expect.arrayContaining(["--histogram=on", "--events=0", "--time=20", "--threads=8", "--tables=2"]),
    );
    expect(args[args.length - 1]).toBe("run");
  });

  it("rejects with sysbench's message when nothing listens on the port", async () => {
    const port = await freePort();
    await expect(
      runSysbench({
        ...SERVER,
        port,
        database: DB,
        ...TABLES,
        workload: "oltp_point_select",
        threads: 1,
        durationSec: 1,
      }),
    ).rejects.toThrow(/sysbench oltp_point_select exited with \d+: .*(connect|FATAL)/i);
  });
});
