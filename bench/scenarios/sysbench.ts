// sysbench scenarios (MySQL/MariaDB): oltp_point_select and oltp_read_only with --clients threads (default 8)
// for --duration seconds, directly against the server and through smgate's MySQL listener in one run.
// The OLTP tables are prepared once per run, directly on the server, in their own database (dropped at the end).
import { mysqlQuery, mysqlServer } from "../drivers/mysql-client.js";
import { prepareSysbench, runSysbench, type SysbenchTables, sysbenchVersion } from "../drivers/sysbench.js";
import type { BenchContext, Measurement, RatioSpec, RunningTarget, Scenario } from "../registry.js";

/** 4 tables × 25,000 rows: small enough to prepare in seconds, all in the server's buffer pool. */
export const SYSBENCH_TABLES: SysbenchTables = { tables: 4, tableSize: 25_000 };

export const MYSQL_TARGETS = ["mysql-direct", "smgate-mysql"] as const;

export function sysbenchDatabase(ctx: BenchContext): string {
  return `${ctx.options.database}_sysbench`;
}

/** Creates the sysbench database and its tables once per run, directly on the server; dropped at the end. */
export async function ensureSysbenchDatabase(ctx: BenchContext): Promise<void> {
  await ctx.once("sysbench-db", async () => {
    const server = mysqlServer(ctx);
    const db = sysbenchDatabase(ctx);
    ctx.log(
      `  ${await sysbenchVersion()}: preparing ${db} (${SYSBENCH_TABLES.tables} × ${SYSBENCH_TABLES.tableSize} rows)`,
    );
    await mysqlQuery(server, `DROP DATABASE IF EXISTS \`${db}\``, `CREATE DATABASE \`${db}\``);
    ctx.atEnd(async () => {
      await mysqlQuery(server, `DROP DATABASE IF EXISTS \`${db}\``);
    });
    await prepareSysbench({ ...server, database: db }, SYSBENCH_TABLES);
  });
}

function connectionOf(ctx: BenchContext, target: RunningTarget) {
  const server = mysqlServer(ctx);
  const ep = target.endpoints?.mysql ?? { host: target.host, port: target.port };
  return {
    host: ep.host,
    port: ep.port,
    user: server.user,
    password: server.password,
    database: sysbenchDatabase(ctx),
  };
}

export interface SysbenchScenarioSpec {
  name: string;
  description: string;
  workload: string;
  targets?: readonly string[];
  ratios?: readonly RatioSpec[];
  defaultOn?: boolean;
}

export function sysbenchScenario(spec: SysbenchScenarioSpec): Scenario {
  return {
    name: spec.name,
    description: spec.description,
    targets: spec.targets ?? MYSQL_TARGETS,
    ratios: spec.ratios,
    defaultOn: spec.defaultOn,
    setup: ensureSysbenchDatabase,
    async warmup(ctx, target) {
      if (ctx.options.warmupSec <= 0) return;
      await ctx.once(`sysbench-warmup:${target.name}:${spec.workload}`, async () => {
        ctx.log(`  warm-up ${target.name} (${spec.workload}, ${ctx.options.warmupSec} s)`);
        await runSysbench({
          ...connectionOf(ctx, target),
          ...SYSBENCH_TABLES,
          workload: spec.workload,
          threads: ctx.options.clients,
          durationSec: ctx.options.warmupSec,
        });
      });
    },
    async run(ctx, target): Promise<Measurement> {
      const res = await runSysbench({
        ...connectionOf(ctx, target),
        ...SYSBENCH_TABLES,
        workload: spec.workload,
        threads: ctx.options.clients,
        durationSec: ctx.options.durationSec,
      });
      const s = res.summary;
      return {
        target: target.name,
        throughput: { value: s.tps, unit: "tps" },
        latencyP99Ms: res.p99Ms,
        latencyAvgMs: s.latency.avgMs,
        completed: s.transactions,
        failed: s.ignoredErrors,
        elapsedSec: s.totalTimeSec,
        details: {
          sysbench: `sysbench ${res.args.join(" ")}`,
          qps: s.qps,
          queries: s.queries,
          queriesPerformed: s.queriesPerformed,
          reconnects: s.reconnects,
          latencyP95Ms: res.p95Ms,
          latencyPrintedPercentile: s.latency.printed,
          latencyMinMs: s.latency.minMs,
          latencyMaxMs: s.latency.maxMs,
          percentilesFrom: "sysbench --histogram=on buckets, nearest rank",
        },
      };
    },
  };
}

const SMGATE_VS_DIRECT = { numerator: "smgate-mysql", denominator: "mysql-direct" } as const;

export const sysbenchScenarios: Scenario[] = [
  sysbenchScenario({
    name: "sysbench-point-select",
    description:
      "sysbench oltp_point_select, --clients threads (bar: smgate ≥ 0.5× direct; mysql-tcp-relay = a bare Node relay, for reference)",
    workload: "oltp_point_select",
    targets: ["mysql-direct", "mysql-tcp-relay", "smgate-mysql"],
    ratios: [
      { ...SMGATE_VS_DIRECT, atLeast: 0.5 },
      { numerator: "mysql-tcp-relay", denominator: "mysql-direct" },
      { numerator: "smgate-mysql", denominator: "mysql-tcp-relay" },
    ],
  }),
  sysbenchScenario({
    name: "sysbench-read-only",
    description: "sysbench oltp_read_only (14 reads per transaction), --clients threads",
    workload: "oltp_read_only",
    ratios: [SMGATE_VS_DIRECT],
  }),
];
