// `smgate discover --db URL`: samples a live PostgreSQL or MariaDB database, reports columns holding
// sensitive data (hit rate per detector) and writes a draft policy.
import { writeFileSync } from "node:fs";
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { openInspector } from "../policy/db/inspector.js";
import { draftPolicy } from "../policy/discovery/draft.js";
import { detectorSet, loadRules } from "../policy/discovery/rules.js";
import { DISCOVERY_DEFAULTS, type DiscoveryReport, discover, formatFindings } from "../policy/discovery/scan.js";
import { parsePolicy } from "../policy/policy-loader.js";
import type { CliIo } from "./policy.js";

export interface DiscoverCliOptions {
  db: string;
  sample?: string;
  rules?: string;
  threshold?: string;
  out?: string;
  schema?: string[];
  progress?: boolean;
  json?: boolean;
}

const stdio: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

function positiveInt(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected a positive integer, got "${v}"`);
  return n;
}

function rate(v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new Error(`--threshold: expected a number in (0, 1], got "${v}"`);
  return n;
}

export async function runDiscover(opts: DiscoverCliOptions, io: CliIo = stdio): Promise<DiscoveryReport> {
  const sample = positiveInt(opts.sample, "--sample", DISCOVERY_DEFAULTS.sample);
  const threshold = rate(opts.threshold, DISCOVERY_DEFAULTS.threshold);
  const detectors = detectorSet(opts.rules ? loadRules(opts.rules) : []);
  const showBar = opts.progress ?? process.stderr.isTTY === true;
  const bar = showBar
    ? new SingleBar({
        format: "scanning {bar} {value}/{total} tables  {table}",
        stream: process.stderr,
        hideCursor: true,
      })
    : undefined;
  const db = await openInspector(opts.db);
  let report: DiscoveryReport;
  try {
    let started = false;
    report = await discover(db, {
      sample,
      threshold,
      detectors,
      schemas: opts.schema?.length ? opts.schema : undefined,
      onProgress: (done, total, table) => {
        if (!bar) return;
        if (!started) {
          bar.start(total, 0, { table });
          started = true;
        }
        bar.update(done, { table });
      },
    });
    bar?.stop();
  } finally {
    await db.close();
  }
  if (opts.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else {
    io.out(
      `${report.dialect} database "${report.database}": ${report.tablesScanned} tables, ${report.columnsScanned} columns, up to ${sample} rows each, threshold ${threshold}\n`,
    );
    io.out(formatFindings(report));
  }
  if (opts.out) {
    const text = draftPolicy(report);
    parsePolicy(text, opts.out); // the draft must itself be a valid policy
    writeFileSync(opts.out, text);
    if (!opts.json)
      io.out(
        `draft policy written to ${opts.out} (${report.findings.filter((f) => f.aboveThreshold).length} protected columns)\n`,
      );
  }
  return report;
}

export function registerDiscoverCommand(program: Command): void {
  program
    .command("discover")
    .description("sample a live database for sensitive columns and write a draft policy")
    .requiredOption("--db <url>", "postgres://user@host:5432/db or mysql://user@host:3306/db")
    .option("--sample <n>", `rows sampled per table (default ${DISCOVERY_DEFAULTS.sample})`)
    .option("--rules <file>", "YAML file of extra detectors (regex + optional validator)")
    .option("--threshold <rate>", `hit rate from which a column is sensitive (default ${DISCOVERY_DEFAULTS.threshold})`)
    .option("--schema <name...>", "schemas (PostgreSQL) / databases (MySQL) to scan")
    .option("--out <file>", "write a draft policy.yaml")
    .option("--json", "print the report as JSON (findings with hit rates; never values)")
    .action(async (opts: DiscoverCliOptions) => {
      await runDiscover(opts);
    });
}
