// sysbench driver (MySQL / MariaDB): builds the command line, prepares the OLTP tables once ("prepare"), runs a
// built-in OLTP workload (oltp_point_select, oltp_read_only, …) for a fixed time and returns the parsed summary
// with p95/p99 read from sysbench's latency histogram (--histogram=on).
import { runCommand } from "../children.js";
import { findTool, type ToolSpec } from "../tools.js";
import { histogramPercentile, parseSysbenchOutput, type SysbenchSummary } from "./sysbench-output.js";

export const SYSBENCH_TOOL: ToolSpec = {
  name: "sysbench",
  extraDirs: () => ["/usr/local/bin"],
  install: "install it with `apt-get install sysbench` (Debian) or put sysbench on PATH",
};

let sysbenchPath: string | undefined;

/** Absolute path of sysbench (cached), or a clear error saying how to install it. */
export function requireSysbench(): string {
  sysbenchPath ??= findTool(SYSBENCH_TOOL);
  return sysbenchPath;
}

export async function sysbenchVersion(): Promise<string> {
  const res = await runCommand(requireSysbench(), ["--version"]);
  return (res.stdout || res.stderr).split("\n")[0]?.trim() ?? "";
}

export interface SysbenchConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
}

export interface SysbenchTables {
  tables: number;
  tableSize: number;
}

/** Connection and (for the OLTP scripts) table options every sysbench command of a run shares. */
export function sysbenchCommonArgs(conn: SysbenchConnection, tables?: Partial<SysbenchTables>): string[] {
  const args = [
    "--db-driver=mysql",
    `--mysql-host=${conn.host}`,
    `--mysql-port=${conn.port}`,
    `--mysql-user=${conn.user}`,
    `--mysql-db=${conn.database}`,
    "--mysql-ssl=off",
  ];
  if (tables?.tables !== undefined) args.push(`--tables=${tables.tables}`);
  if (tables?.tableSize !== undefined) args.push(`--table-size=${tables.tableSize}`);
  if (conn.password) args.push(`--mysql-password=${conn.password}`);
  return args;
}

/** `sysbench oltp_common prepare`: creates sbtest1..N with tableSize rows each (the database must exist). */
export async function prepareSysbench(conn: SysbenchConnection, tables: SysbenchTables, threads = 2): Promise<void> {
  const args = ["oltp_read_only", ...sysbenchCommonArgs(conn, tables), `--threads=${threads}`, "prepare"];
  const res = await runCommand(requireSysbench(), args, { timeoutMs: 30 * 60_000 });
  if (res.code !== 0) {
    throw new Error(
      `bench: sysbench prepare exited with ${res.code}: ${(res.stderr || res.stdout).trim().slice(-800)}`,
    );
  }
}

export interface SysbenchRunSpec extends SysbenchConnection, Partial<SysbenchTables> {
  /** A built-in OLTP script (oltp_point_select, oltp_read_only, …) or the path of a Lua script. */
  workload: string;
  threads: number;
  durationSec: number;
  extraArgs?: readonly string[];
}

export interface SysbenchRunResult {
  summary: SysbenchSummary;
  p95Ms: number;
  p99Ms: number;
  args: string[];
}

export function sysbenchRunArgs(spec: SysbenchRunSpec): string[] {
  return [
    spec.workload,
    ...sysbenchCommonArgs(spec, spec),
    `--threads=${spec.threads}`,
    `--time=${spec.durationSec}`,
    "--events=0",
    "--report-interval=0",
    "--percentile=95",
    "--histogram=on",
    ...(spec.extraArgs ?? []),
    "run",
  ];
}

/** Runs the workload; a non-zero exit (e.g. a FATAL error) is an error carrying sysbench's last output. */
export async function runSysbench(spec: SysbenchRunSpec): Promise<SysbenchRunResult> {
  const args = sysbenchRunArgs(spec);
  const res = await runCommand(requireSysbench(), args, { timeoutMs: (spec.durationSec + 120) * 1000 });
  if (res.code !== 0) {
    const tail = `${res.stdout}\n${res.stderr}`.trim().split("\n").slice(-8).join(" | ");
    throw new Error(`bench: sysbench ${spec.workload} exited with ${res.code}: ${tail}`);
  }
  const summary = parseSysbenchOutput(res.stdout);
  const hist = summary.histogram ?? [];
  return {
    summary,
    p95Ms: histogramPercentile(hist, 95),
    p99Ms: histogramPercentile(hist, 99),
    args: args.map((a) => (a.startsWith("--mysql-password=") ? "--mysql-password=***" : a)),
  };
}
