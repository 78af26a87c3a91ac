// Scenario and target registry of the benchmark harness: the types every scenario, target and report shares,
// and the two lists (`registerScenario`, `registerTarget`) that built-in and later feature-specific benchmarks
// (encryption, MySQL/sysbench) add themselves to.

/** Options of one harness run (from the command line), visible to every scenario and target. */
export interface RunOptions {
  /** Seconds each measured pgbench run lasts. */
  durationSec: number;
  /** Seconds of the warm-up run per target and query mode. */
  warmupSec: number;
  clients: number;
  threads: number;
  /** pgbench scale factor of the benchmark database. */
  scale: number;
  /** Rows streamed by the memory (RSS) scenarios. */
  streamRows: number;
  /** Database the harness initialises once per run (dropped and re-created). */
  database: string;
  /** The PostgreSQL server every target finally talks to. */
  pg: { host: string; port: number; user: string };
  /** Worker processes for smgate (`--workers`); undefined = the gateway's default. */
  smgateWorkers?: number;
  /** Extra arguments appended to `smgate start`. */
  smgateArgs: string[];
  /** The MySQL/MariaDB server of the MySQL scenarios; undefined = 127.0.0.1:3306, user root, no password. */
  mysql?: { host: string; port: number; user: string; password?: string };
}

/** Shared state of one run, handed to scenarios and targets. */
export interface BenchContext {
  readonly options: RunOptions;
  /** Private temporary folder of this run (removed at the end). */
  readonly tmpDir: string;
  /** The repository root (where dist/ and bench/ live). */
  readonly repoRoot: string;
  log(message: string): void;
  /** Runs `fn` at most once per run for `key` (e.g. database initialisation shared by several scenarios). */
  once<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Registers clean-up run at the end of the run (after targets stop), in reverse order, even on failure. */
  atEnd(fn: () => Promise<void>): void;
}

/** A started target: where clients connect, and the process to watch (if the harness owns one). */
export interface RunningTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Process id of the target's main process when the harness started it (used for RSS sampling). */
  readonly pid?: number;
  /** Facts for the report (version, pool mode, workers, ...). */
  readonly info: Record<string, string | number | boolean>;
  /** Further listeners of the target (e.g. { mysql: {host, port} }). */
  readonly endpoints?: Record<string, { host: string; port: number }>;
  stop(): Promise<void>;
  /** Why the target is unusable now (e.g. its process exited, with its last stderr), or undefined when fine. */
  health?(): string | undefined;
}

export interface TargetDefinition {
  /** Stable name used in scenario definitions and reports ("direct", "pgbouncer", "smgate", ...). */
  readonly name: string;
  readonly description: string;
  start(ctx: BenchContext): Promise<RunningTarget>;
}

/** Resident-set-size statistics of a process tree while a scenario ran (MiB). */
export interface RssSummary {
  startMiB: number;
  peakMiB: number;
  endMiB: number;
  /** peak − start. */
  growthMiB: number;
  samples: number;
  intervalMs: number;
  /** growth below the flatness threshold. */
  flat: boolean;
  flatThresholdMiB: number;
  /** The samples in MiB (every `intervalMs`, thinned to at most 300 points by taking each window's maximum). */
  seriesMiB?: number[];
}

/** One scenario measured against one target. */
export interface Measurement {
  target: string;
  /** The headline figure (bar height in the chart). */
  throughput: { value: number; unit: "tps" | "rows/s" | "ops/s" };
  latencyP99Ms?: number;
  latencyAvgMs?: number;
  /** Transactions / operations completed and failed during the measured window. */
  completed?: number;
  failed?: number;
  elapsedSec?: number;
  rss?: RssSummary;
  /** CPU used by the target's process tree during the measurement (targets the harness started). */
  targetCpu?: { cpuSec: number; wallSec: number; cores: number };
  /** Anything else worth keeping in the JSON (command line, raw counters, ...). */
  details?: Record<string, unknown>;
  /** Set when this target failed for this scenario; the other targets still run. */
  error?: string;
  /** Set when the scenario could not be measured on this target for a known reason (not a failure). */
  skipped?: string;
}

/** Ratio `numerator/denominator` of two targets' throughput (the figure the issues set bars on). */
export interface RatioSpec {
  numerator: string;
  denominator: string;
  /** Optional bar: the ratio must be at least this for the scenario to "pass". */
  atLeast?: number;
}

export interface Scenario {
  /** Selectable name, e.g. "pgbench-select-prepared"; lowercase, digits and dashes. */
  readonly name: string;
  readonly description: string;
  /** Targets measured, in the base order (the runner rotates it per scenario to spread drift). */
  readonly targets: readonly string[];
  readonly ratios?: readonly RatioSpec[];
  /** Scenarios off by default run only when named with --only. */
  readonly defaultOn?: boolean;
  /** Runs once before the first target (idempotent helpers should use ctx.once). */
  setup?(ctx: BenchContext): Promise<void>;
  /** Warm-up before the measured run on a target (use ctx.once to warm a target only once per kind). */
  warmup?(ctx: BenchContext, target: RunningTarget): Promise<void>;
  run(ctx: BenchContext, target: RunningTarget): Promise<Measurement>;
}

const scenarios = new Map<string, Scenario>();
const targets = new Map<string, TargetDefinition>();

const NAME_RE = /^[a-z0-9][a-z0-9-]*$/;

export function registerScenario(scenario: Scenario): void {
  if (!NAME_RE.test(scenario.name)) {
    throw new Error(`bench: scenario name "${scenario.name}" must be lowercase letters, digits and dashes`);
  }
  if (scenarios.has(scenario.name)) throw new Error(`bench: scenario "${scenario.name}" is registered twice`);
  scenarios.set(scenario.name, scenario);
}

export function registerTarget(target: TargetDefinition): void {
  if (!NAME_RE.test(target.name)) {
    throw new Error(`bench: target name "${target.name}" must be lowercase letters, digits and dashes`);
  }
  if (targets.has(target.name)) throw new Error(`bench: target "${target.name}" is registered twice`);
  targets.set(target.name, target);
}

export function listScenarios(): Scenario[] {
  return [...scenarios.values()];
}

export function getTarget(name: string): TargetDefinition | undefined {
  return targets.get(name);
}

export function listTargets(): TargetDefinition[] {
  return [...targets.values()];
}

/**
 * Resolves `--only a,b` (or the default set when `only` is empty) to scenarios, in registry order.
 * Unknown names are an error listing the known ones.
 */
export function selectScenarios(only: readonly string[]): Scenario[] {
  const all = listScenarios();
  if (only.length === 0) return all.filter((s) => s.defaultOn !== false);
  const unknown = only.filter((n) => !scenarios.has(n));
  if (unknown.length > 0) {
    throw new Error(`bench: unknown scenario(s) ${unknown.join(", ")}; known: ${all.map((s) => s.name).join(", ")}`);
  }
  const wanted = new Set(only);
  return all.filter((s) => wanted.has(s.name));
}
