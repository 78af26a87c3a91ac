// pgbench driver: parsing pgbench's end-of-run report and its per-transaction logs, checked on known text and
// on a real 2-second run against the local PostgreSQL (pgbench's own counters cross-check the log parsing).
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePgbenchLog, parsePgbenchOutput, readPgbenchLogs, runPgbench } from "../../bench/drivers/pgbench.js";
import { createPgbenchDb, dropDb, PG, uniqueDbName } from "./helpers.js";

// Report printed by pgbench 15 (values are the ones in this text).
const PG15_REPORT = `pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: <builtin: select only>
scaling factor: 1
query mode: prepared
number of clients: 2
number of threads: 2
maximum number of tries: 1
duration: 2 s
number of transactions actually processed: 81318
number of failed transactions: 0 (0.000%)
latency average = 0.048 ms
initial connection time = 32.227 ms
tps = 41237.751219 (without initial connection time)
`;

describe("parsePgbenchOutput", () => {
  it("reads every figure of a pgbench 15 report", () => {
    expect(parsePgbenchOutput(PG15_REPORT)).toEqual({
      transactionType: "<builtin: select only>",
      queryMode: "prepared",
      clients: 2,
      threads: 2,
      processed: 81318,
      failed: 0,
      latencyAvgMs: 0.048,
      initialConnectionMs: 32.227,
      tps: 41237.751219,
    });
  });

  it("reads the pre-14 wording (excluding connections establishing) and no failure line", () => {
    const old = PG15_REPORT.replace(/^number of failed.*\n/m, "").replace(
      "tps = 41237.751219 (without initial connection time)",
      "tps = 41000.5 (including connections establishing)\ntps = 41237.75 (excluding connections establishing)",
    );
    const s = parsePgbenchOutput(old);
    expect(s.tps).toBe(41237.75);
    expect(s.failed).toBe(0);
  });

  it("refuses output without a tps line", () => {
    expect(() => parsePgbenchOutput("pgbench: error: connection to server failed\n")).toThrow(/no tps line/);
  });
});

describe("parsePgbenchLog", () => {
  it("collects latencies in µs and counts failed and skipped transactions", () => {
    const text = [
      "0 1 6883 0 1795448329 346061",
      "0 2 failed 0 1795448329 346755",
      "1 1 250 0 1795448329 347531 0 0",
      "1 2 skipped 0 1795448329 347600",
      "",
    ].join("\n");
    const lat: number[] = [];
    expect(parsePgbenchLog(text, lat)).toEqual({ lines: 4, failed: 1, skipped: 1 });
    expect(lat).toEqual([6883, 250]);
  });

  it("rejects a malformed line", () => {
    expect(() => parsePgbenchLog("0 1 abc 0 1 2\n", [])).toThrow(/malformed latency/);
    expect(() => parsePgbenchLog("garbage\n", [])).toThrow(/malformed pgbench log line/);
  });

  it("summarises all files of one prefix in a folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), "smg-bench-log-"));
    try {
      // 100 transactions of 1..100 ms spread over a main and a thread log file; another prefix is ignored.
      const lines = (from: number, to: number) =>
        Array.from({ length: to - from + 1 }, (_, i) => `0 ${i} ${(from + i) * 1000} 0 1795448329 0`).join("\n");
      await writeFile(join(dir, "p.123"), `${lines(1, 60)}\n`);
      await writeFile(join(dir, "p.123.1"), `${lines(61, 100)}\n`);
      await writeFile(join(dir, "other.5"), "0 1 999999999 0 1 1\n");
      const s = await readPgbenchLogs(dir, "p");
      expect(s).toMatchObject({
        files: 2,
        transactions: 100,
        failed: 0,
        p50Ms: 50,
        p95Ms: 95,
        p99Ms: 99,
        maxMs: 100,
        meanMs: 50.5,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("runPgbench against the local PostgreSQL", () => {
  const db = uniqueDbName("drv");
  let logDir = "";
  beforeAll(async () => {
    await createPgbenchDb(db);
    logDir = await mkdtemp(join(tmpdir(), "smg-bench-run-"));
  });
  afterAll(async () => {
    await dropDb(db);
    await rm(logDir, { recursive: true, force: true });
  });

  it("a 2 s -S -M prepared run: log line count equals pgbench's processed count, percentiles are ordered", async () => {
    const res = await runPgbench({
      ...PG,
      database: db,
      script: { builtin: "select-only" },
      mode: "prepared",
      clients: 2,
      threads: 2,
      durationSec: 2,
      logDir,
    });
    const { summary, log } = res;
    expect(summary.queryMode).toBe("prepared");
    expect(summary.clients).toBe(2);
    expect(summary.processed).toBeGreaterThan(0);
    expect(summary.failed).toBe(0);
    expect(summary.tps).toBeGreaterThan(0);
    expect(log).toBeDefined();
    if (!log) return;
    expect(log.transactions).toBe(summary.processed);
    expect(log.files).toBe(2); // one per thread
    expect(log.p50Ms).toBeGreaterThan(0);
    expect(log.p50Ms).toBeLessThanOrEqual(log.p95Ms);
    expect(log.p95Ms).toBeLessThanOrEqual(log.p99Ms);
    expect(log.p99Ms).toBeLessThanOrEqual(log.maxMs);
    // Units: the logged mean (µs → ms) matches pgbench's own average latency (clients always busy) within 2×.
    expect(log.meanMs / summary.latencyAvgMs).toBeGreaterThan(0.5);
    expect(log.meanMs / summary.latencyAvgMs).toBeLessThan(2);
    // Log files are removed once summarised.
    expect(await readdir(logDir)).toEqual([]);
  });

  it("reports pgbench's own error when the database does not exist", async () => {
    await expect(
      runPgbench({
        ...PG,
        database: `${db}_missing`,
        script: { builtin: "select-only" },
        mode: "simple",
        clients: 1,
        threads: 1,
        durationSec: 1,
      }),
    ).rejects.toThrow(/pgbench exited with 1 .*does not exist/s);
  });
});
