// pgbench scenarios: builtin -S (select-only) and -N (simple-update) in simple and prepared query mode,
// 8 clients, against direct / pgbouncer / smgate. `pgbenchScenario` builds one from data, so feature
// benchmarks (e.g. an encrypted-insert custom script) register theirs with one call.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type PgbenchBuiltin, type PgbenchMode, runPgbench } from "../drivers/pgbench.js";
import type { BenchContext, Measurement, RatioSpec, RunningTarget, Scenario } from "../registry.js";
import { ensurePgbenchDatabase, pgbenchPreRunCleanup } from "./pgbench-db.js";

export interface PgbenchScenarioSpec {
  name: string;
  description: string;
  script: { builtin: PgbenchBuiltin } | { file: (ctx: BenchContext) => Promise<string> };
  mode: PgbenchMode;
  targets: readonly string[];
  ratios?: readonly RatioSpec[];
  /** Runs once before the first target (e.g. create tables for a custom script). Default: the pgbench database. */
  setup?: (ctx: BenchContext) => Promise<void>;
  /** Runs before each measured run, directly on the server (default for writing scripts: pgbench's cleanup). */
  beforeEach?: (ctx: BenchContext) => Promise<void>;
  /** Database the script runs in (default: the run's pgbench database). */
  database?: (ctx: BenchContext) => string;
  extraArgs?: readonly string[];
}

export const PROXY_RATIOS: readonly RatioSpec[] = [
  { numerator: "smgate", denominator: "pgbouncer" },
  { numerator: "smgate", denominator: "direct" },
];

const THREE_TARGETS = ["direct", "pgbouncer", "smgate"] as const;

async function warmup(ctx: BenchContext, target: RunningTarget, mode: PgbenchMode, database: string): Promise<void> {
  if (ctx.options.warmupSec <= 0) return;
  await ctx.once(`warmup:${target.name}:${target.port}:${mode}`, async () => {
    ctx.log(`  warm-up ${target.name} (-S -M ${mode}, ${ctx.options.warmupSec} s)`);
    await runPgbench({
      host: target.host,
      port: target.port,
      user: ctx.options.pg.user,
      database,
      script: { builtin: "select-only" },
      mode,
      clients: ctx.options.clients,
      threads: ctx.options.threads,
      durationSec: ctx.options.warmupSec,
    });
  });
}

export function pgbenchScenario(spec: PgbenchScenarioSpec): Scenario {
  const dbOf = (ctx: BenchContext) => spec.database?.(ctx) ?? ctx.options.database;
  return {
    name: spec.name,
    description: spec.description,
    targets: spec.targets,
    ratios: spec.ratios,
    setup: spec.setup ?? ensurePgbenchDatabase,
    warmup: (ctx, target) => warmup(ctx, target, spec.mode, dbOf(ctx)),
    async run(ctx, target): Promise<Measurement> {
      await spec.beforeEach?.(ctx);
      const logDir = join(ctx.tmpDir, "pgbench-logs");
      await mkdir(logDir, { recursive: true });
      const script = "builtin" in spec.script ? spec.script : { file: await spec.script.file(ctx) };
      const res = await runPgbench({
        host: target.host,
        port: target.port,
        user: ctx.options.pg.user,
        database: dbOf(ctx),
        script,
        mode: spec.mode,
        clients: ctx.options.clients,
        threads: ctx.options.threads,
        durationSec: ctx.options.durationSec,
        logDir,
        extraArgs: spec.extraArgs,
      });
      const { summary, log } = res;
      return {
        target: target.name,
        throughput: { value: summary.tps, unit: "tps" },
        latencyP99Ms: log?.p99Ms,
        latencyAvgMs: summary.latencyAvgMs,
        completed: summary.processed,
        failed: summary.failed,
        elapsedSec: ctx.options.durationSec,
        details: {
          pgbench: `pgbench ${res.args.join(" ").replace(logDir, "<tmp>")}`,
          initialConnectionMs: summary.initialConnectionMs,
          latencyP50Ms: log?.p50Ms,
          latencyP95Ms: log?.p95Ms,
          latencyMaxMs: log?.maxMs,
          loggedTransactions: log?.transactions,
          loggedFailed: log?.failed,
        },
      };
    },
  };
}

const BUILTINS: { key: string; builtin: PgbenchBuiltin; flag: string }[] = [
  { key: "select", builtin: "select-only", flag: "-S" },
  { key: "update", builtin: "simple-update", flag: "-N" },
];
const MODES: PgbenchMode[] = ["simple", "prepared"];

/** pgbench-select-simple, pgbench-select-prepared, pgbench-update-simple, pgbench-update-prepared. */
export const builtinPgbenchScenarios: Scenario[] = BUILTINS.flatMap((b) =>
  MODES.map((mode) =>
    pgbenchScenario({
      name: `pgbench-${b.key}-${mode}`,
      description: `pgbench ${b.flag} (${b.builtin}) -M ${mode}`,
      script: { builtin: b.builtin },
      mode,
      targets: THREE_TARGETS,
      ratios:
        b.builtin === "select-only" && mode === "prepared"
          ? [{ numerator: "smgate", denominator: "pgbouncer", atLeast: 0.9 }, PROXY_RATIOS[1]]
          : PROXY_RATIOS,
      beforeEach: b.builtin === "select-only" ? undefined : pgbenchPreRunCleanup,
    }),
  ),
);
