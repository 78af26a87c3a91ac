// pgbench driver: builds the command line, runs pgbench against a target, parses its summary output and its
// per-transaction log files (--log) into throughput, failures and latency percentiles.
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "../children.js";
import { mean, percentiles } from "../stats.js";
import { requireTool } from "../tools.js";

export type PgbenchBuiltin = "select-only" | "simple-update" | "tpcb-like";
export type PgbenchMode = "simple" | "extended" | "prepared";

export interface PgbenchRunSpec {
  host: string;
  port: number;
  user: string;
  database: string;
  /** A builtin script (-b) or a custom script file (-f). */
  script: { builtin: PgbenchBuiltin } | { file: string };
  mode: PgbenchMode;
  clients: number;
  threads: number;
  durationSec: number;
  /** When set, per-transaction logs go to this folder and latency percentiles are computed from them. */
  logDir?: string;
  /** Further pgbench arguments (e.g. -D var=value). */
  extraArgs?: readonly string[];
}

/** What pgbench prints at the end of a run. */
export interface PgbenchSummary {
  transactionType: string;
  queryMode: string;
  clients: number;
  threads: number;
  processed: number;
  failed: number;
  latencyAvgMs: number;
  initialConnectionMs: number;
  /** tps excluding the initial connection time. */
  tps: number;
}

/** Statistics computed from pgbench's per-transaction log files. */
export interface PgbenchLogStats {
  files: number;
  transactions: number;
  failed: number;
  skipped: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface PgbenchResult {
  summary: PgbenchSummary;
  log?: PgbenchLogStats;
  args: string[];
}

export class PgbenchOutputError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = "PgbenchOutputError";
  }
}

function match(text: string, re: RegExp): string | undefined {
  return re.exec(text)?.[1];
}

function num(text: string, re: RegExp, what: string): number {
  const v = match(text, re);
  if (v === undefined) throw new PgbenchOutputError(`pgbench output has no "${what}" line`, text);
  return Number(v);
}

/** Parses pgbench's end-of-run report (PostgreSQL 13–17 wording). */
export function parsePgbenchOutput(stdout: string): PgbenchSummary {
  const tps =
    match(stdout, /^tps = ([\d.]+) \(without initial connection time\)/m) ??
    match(stdout, /^tps = ([\d.]+) \(excluding connections establishing\)/m);
  if (tps === undefined) throw new PgbenchOutputError("pgbench output has no tps line (did the run fail?)", stdout);
  return {
    transactionType: match(stdout, /^transaction type: (.+)$/m) ?? "",
    queryMode: match(stdout, /^query mode: (\S+)/m) ?? "",
    clients: num(stdout, /^number of clients: (\d+)/m, "number of clients"),
    threads: num(stdout, /^number of threads: (\d+)/m, "number of threads"),
    processed: num(stdout, /^number of transactions actually processed: (\d+)/m, "transactions actually processed"),
    // Older pgbench has no failure line: nothing failed without aborting the run.
    failed: Number(match(stdout, /^number of failed transactions: (\d+)/m) ?? 0),
    latencyAvgMs: num(stdout, /^latency average = ([\d.]+) ms/m, "latency average"),
    initialConnectionMs: Number(match(stdout, /^initial connection time = ([\d.]+) ms/m) ?? Number.NaN),
    tps: Number(tps),
  };
}

/**
 * Adds the latencies (µs) of one pgbench log file's text to `latenciesUs` and returns failed/skipped counts.
 * Line format: `client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]`, where
 * time is the transaction latency in µs, or "failed" / "skipped".
 */
export function parsePgbenchLog(
  text: string,
  latenciesUs: number[],
): { lines: number; failed: number; skipped: number } {
  let lines = 0;
  let failed = 0;
  let skipped = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    if (end > start) {
      const line = text.slice(start, end);
      const fields = line.split(" ");
      if (fields.length < 6) throw new PgbenchOutputError(`malformed pgbench log line: "${line}"`, line);
      lines++;
      const t = fields[2];
      if (t === "failed") failed++;
      else if (t === "skipped") skipped++;
      else {
        const us = Number(t);
        if (!Number.isFinite(us))
          throw new PgbenchOutputError(`malformed latency in pgbench log line: "${line}"`, line);
        latenciesUs.push(us);
      }
    }
    start = end + 1;
  }
  return { lines, failed, skipped };
}

/** Reads every log file `<prefix>.<pid>[.<thread>]` in `dir` and summarises the latencies. */
export async function readPgbenchLogs(dir: string, prefix: string): Promise<PgbenchLogStats> {
  const names = (await readdir(dir)).filter((n) => n.startsWith(`${prefix}.`));
  if (names.length === 0) throw new Error(`bench: pgbench wrote no log files "${prefix}.*" in ${dir}`);
  const latencies: number[] = [];
  let transactions = 0;
  let failed = 0;
  let skipped = 0;
  for (const name of names) {
    const r = parsePgbenchLog(await readFile(join(dir, name), "utf8"), latencies);
    transactions += r.lines;
    failed += r.failed;
    skipped += r.skipped;
  }
  const [p50, p95, p99, max] = percentiles(latencies, [50, 95, 99, 100]);
  return {
    files: names.length,
    transactions,
    failed,
    skipped,
    meanMs: mean(latencies) / 1000,
    p50Ms: p50 / 1000,
    p95Ms: p95 / 1000,
    p99Ms: p99 / 1000,
    maxMs: max / 1000,
  };
}

let runCounter = 0;

export function pgbenchArgs(spec: PgbenchRunSpec, logPrefix?: string): string[] {
  const args = ["-h", spec.host, "-p", String(spec.port), "-U", spec.user];
  args.push("-c", String(spec.clients), "-j", String(spec.threads), "-T", String(spec.durationSec));
  args.push("-M", spec.mode, "-n");
  if ("builtin" in spec.script) args.push("-b", spec.script.builtin);
  else args.push("-f", spec.script.file);
  if (spec.logDir && logPrefix) args.push("--log", `--log-prefix=${join(spec.logDir, logPrefix)}`);
  args.push(...(spec.extraArgs ?? []), spec.database);
  return args;
}

/** Runs pgbench once; throws with pgbench's own error text when it exits non-zero. */
export async function runPgbench(spec: PgbenchRunSpec): Promise<PgbenchResult> {
  const prefix = spec.logDir ? `pgbench_${process.pid}_${++runCounter}` : undefined;
  const args = pgbenchArgs(spec, prefix);
  // -T ends the run, but pgbench waits for in-flight transactions: a stalled target must not hang the harness.
  const res = await runCommand(requireTool("pgbench"), args, {
    env: { ...process.env, PGAPPNAME: "smgate-bench" },
    timeoutMs: spec.durationSec * 1000 + 60_000,
  });
  if (res.code !== 0) {
    const why = (res.stderr.trim() || res.stdout.trim()).split("\n").slice(-5).join("\n");
    throw new Error(`bench: pgbench exited with ${res.code} against ${spec.host}:${spec.port}: ${why}`);
  }
  const summary = parsePgbenchOutput(res.stdout);
  let log: PgbenchLogStats | undefined;
  if (spec.logDir && prefix) {
    log = await readPgbenchLogs(spec.logDir, prefix);
    // Log files can be large (one line per transaction): drop them once summarised.
    const names = (await readdir(spec.logDir)).filter((n) => n.startsWith(`${prefix}.`));
    await Promise.all(names.map((n) => rm(join(spec.logDir as string, n), { force: true })));
  }
  return { summary, log, args };
}
