// A hand-made BenchResult for the report tests (two units, a failed measurement, a met and a missed bar,
// and names with characters that must be escaped in markdown and XML).
import type { BenchResult } from "../../bench/result.js";

export function fixtureResult(): BenchResult {
  return {
    schema: "smgate-bench/1",
    startedAt: "2026-11-23T17:35:02.123Z",
    finishedAt: "2026-11-23T17:40:10.000Z",
    machine: {
      cpuModel: "AMD EPYC <test> & co",
      cores: 2,
      memoryGiB: 23.5,
      freeMemoryGiB: 10,
      kernel: "6.1",
      node: "v20.20.2",
      postgres: "PostgreSQL 15.20 (Debian) on x86_64",
      pgbench: "pgbench (PostgreSQL) 15.20",
      pgbouncer: "PgBouncer 1.18.0",
      psql: "psql (PostgreSQL) 15.20",
      gitCommit: "abc1234",
      loadAtStart: [1.5, 1.2, 0.9],
      loadAtEnd: [2, 1.5, 1],
    },
    options: {
      durationSec: 20,
      warmupSec: 3,
      clients: 8,
      threads: 2,
      scale: 10,
      streamRows: 10_000_000,
      database: "smg_bench",
      pg: { host: "127.0.0.1", port: 5432, user: "postgres" },
      smgateArgs: [],
    },
    targets: { direct: {}, pgbouncer: { version: "PgBouncer 1.18.0" }, smgate: {} },
    scenarios: [
      {
        name: "pgbench-select-prepared",
        description: "pgbench -S -M prepared",
        order: ["direct", "pgbouncer", "smgate"],
        measurements: [
          {
            target: "direct",
            throughput: { value: 40000, unit: "tps" },
            latencyP99Ms: 1.1,
            latencyAvgMs: 0.2,
            failed: 0,
          },
          {
            target: "pgbouncer",
            throughput: { value: 20000, unit: "tps" },
            latencyP99Ms: 2.2,
            latencyAvgMs: 0.4,
            failed: 0,
          },
          {
            target: "smgate",
            throughput: { value: 19000, unit: "tps" },
            latencyP99Ms: 2.5,
            latencyAvgMs: 0.42,
            failed: 0,
            targetCpu: { cpuSec: 15, wallSec: 20, cores: 0.75 },
          },
        ],
        ratios: [
          { numerator: "smgate", denominator: "pgbouncer", atLeast: 0.9, value: 0.95, pass: true },
          { numerator: "smgate", denominator: "direct", value: 0.4751 },
        ],
      },
      {
        name: "pgbench-a|b<c>",
        description: "names with | < > &",
        order: ["pgbouncer", "smgate", "direct"],
        measurements: [
          { target: "pgbouncer", throughput: { value: 1500, unit: "tps" }, latencyP99Ms: 20, failed: 0 },
          { target: "smgate", throughput: { value: 0, unit: "tps" }, error: "target did not start: <boom> & | pipe" },
          { target: "direct", throughput: { value: 1300, unit: "tps" }, latencyP99Ms: 27, failed: 0 },
        ],
        ratios: [{ numerator: "smgate", denominator: "pgbouncer", atLeast: 0.9, value: null, pass: false }],
      },
      {
        name: "rss-10m",
        description: "stream",
        order: ["direct", "smgate"],
        measurements: [
          { target: "direct", throughput: { value: 900_000, unit: "rows/s" }, failed: 0 },
          {
            target: "smgate",
            throughput: { value: 600_000, unit: "rows/s" },
            failed: 0,
            rss: {
              startMiB: 60,
              peakMiB: 75.5,
              endMiB: 70,
              growthMiB: 15.5,
              samples: 170,
              intervalMs: 100,
              flat: true,
              flatThresholdMiB: 64,
            },
          },
        ],
        ratios: [{ numerator: "smgate", denominator: "direct", value: 2 / 3 }],
      },
    ],
  };
}
