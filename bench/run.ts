#!/usr/bin/env node
// `npm run bench`: the benchmark harness command line. Selects scenarios (--only), sets run parameters,
// runs them in one go (runner.ts), writes bench/results/<stamp>.{json,md,svg} and prints the markdown table.
// Children are stopped and the temp folder removed on error, SIGINT and SIGTERM.
import { rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { killAllChildren } from "./children.js";
import { listScenarios, listTargets, type RunOptions, selectScenarios } from "./registry.js";
import { renderMarkdown } from "./report/markdown.js";
import { rerenderResultFiles, writeResultFiles } from "./report/write.js";
import { runBenchmark } from "./runner.js";
import { registerBuiltins } from "./scenarios/index.js";

/** dist/bench/run.js → repository root (two levels up from dist/bench). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer, got "${value}"`);
    return n;
  };
}

function list(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

function hostPort(value: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`expected host:port, got "${value}"`);
  return { host: m[1], port: Number(m[2]) };
}

interface CliOptions {
  only: string[];
  duration: number;
  warmup: number;
  clients: number;
  threads: number;
  scale: number;
  rows: number;
  database: string;
  pg: { host: string; port: number };
  pgUser: string;
  mysql: { host: string; port: number };
  mysqlUser: string;
  smgateWorkers?: number;
  smgateArg: string[];
  out: string;
  write: boolean;
  list: boolean;
  render?: string;
}

export function buildCli(): Command {
  return new Command()
    .name("npm run bench --")
    .description(
      "smgate benchmark harness: pgbench and streaming scenarios against direct PostgreSQL, pgbouncer and smgate",
    )
    .option("--only <names>", "comma-separated scenario names (default: all default scenarios)", list, [])
    .option("--duration <seconds>", "seconds per measured pgbench run", positiveInt("--duration"), 20)
    .option(
      "--warmup <seconds>",
      "seconds of warm-up per target and query mode (0 = none)",
      nonNegativeInt("--warmup"),
      3,
    )
    .option("--clients <n>", "pgbench clients", positiveInt("--clients"), 8)
    .option("--threads <n>", "pgbench threads", positiveInt("--threads"), 2)
    .option("--scale <n>", "pgbench scale factor of the benchmark database", positiveInt("--scale"), 10)
    .option("--rows <n>", "rows streamed by the rss-* scenarios", positiveInt("--rows"), 10_000_000)
    .option("--database <name>", "database the harness (re)creates for pgbench", "smg_bench")
    .option("--pg <host:port>", "PostgreSQL server", hostPort, { host: "127.0.0.1", port: 5432 })
    .option("--pg-user <user>", "PostgreSQL user (trust auth)", "postgres")
    .option("--mysql <host:port>", "MySQL/MariaDB server of the MySQL scenarios", hostPort, {
      host: "127.0.0.1",
      port: 3306,
    })
    .option("--mysql-user <user>", "MySQL user (no password)", "root")
    .option("--smgate-workers <n>", "pass --workers N to smgate start", positiveInt("--smgate-workers"))
    .option(
      "--smgate-arg <arg>",
      "extra argument for smgate start (repeatable)",
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .option("--out <dir>", "results folder", join(REPO_ROOT, "bench", "results"))
    .option("--no-write", "print the report but write no result files")
    .option("--list", "list scenarios and targets, then exit")
    .option("--render <json>", "re-render the .md and .svg of a saved result JSON (no benchmark run)");
}

async function main(argv: string[]): Promise<number> {
  registerBuiltins();
  const cli = buildCli();
  cli.parse(argv);
  const o = cli.opts<CliOptions>();
  if (o.list) {
    for (const s of listScenarios()) {
      process.stdout.write(
        `${s.name.padEnd(28)} ${s.defaultOn === false ? "(opt-in) " : ""}${s.description} [${s.targets.join(", ")}]\n`,
      );
    }
    process.stdout.write("\ntargets:\n");
    for (const t of listTargets()) process.stdout.write(`${t.name.padEnd(28)} ${t.description}\n`);
    return 0;
  }
  if (o.render) {
    const { result, files } = await rerenderResultFiles(o.render);
    process.stdout.write(renderMarkdown(result));
    process.stderr.write(`wrote ${files.markdown}, ${files.svg}\n`);
    return 0;
  }
  const scenarios = selectScenarios(o.only);
  const options: RunOptions = {
    durationSec: o.duration,
    warmupSec: o.warmup,
    clients: o.clients,
    threads: o.threads,
    scale: o.scale,
    streamRows: o.rows,
    database: o.database,
    pg: { ...o.pg, user: o.pgUser },
    smgateWorkers: o.smgateWorkers,
    smgateArgs: o.smgateArg,
    mysql: { ...o.mysql, user: o.mysqlUser },
  };
  let tmpDir: string | undefined;
  const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping child processes`);
    void killAllChildren().finally(() => {
      if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    const result = await runBenchmark(options, scenarios, { repoRoot: REPO_ROOT, log, onTmpDir: (d) => (tmpDir = d) });
    process.stdout.write(`\n${renderMarkdown(result)}\n`);
    if (o.write) {
      const files = await writeResultFiles(result, o.out);
      log(`wrote ${files.json}, ${files.markdown}, ${files.svg}`);
    }
    const failed = result.scenarios.some((s) => s.measurements.some((m) => m.error));
    return failed ? 1 : 0;
  } finally {
    await killAllChildren();
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    await killAllChildren();
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
