// Encrypted MySQL scenarios: the same statements on a plaintext table directly and on the encrypted table through
// smgate's MySQL listener with the encryption policy (column `name` RND, column `phone` FPE cn-mobile).
//   mysql-encrypted-select-1m: SELECT of 1,000,000 rows streamed by the mariadb client (--quick, rows counted and
//     discarded) — bar: ≥ 150,000 rows/s through smgate;
//   mysql-encrypted-insert-8c: --clients (8) sysbench threads of prepared single-row INSERTs (a Lua script) for
//     --duration seconds — bar: ≥ 15,000 inserts/s through smgate.
// Every measurement is checked: the rows read decrypt to the expected plaintext (spot check through the target),
// and rows inserted through smgate are stored encrypted (checked directly on the server).
import { mysqlQuery, mysqlServer } from "../drivers/mysql-client.js";
import { mysqlStreamQuery } from "../drivers/mysql-stream.js";
import { runSysbench } from "../drivers/sysbench.js";
import { writeSysbenchInsertScript } from "../drivers/sysbench-insert.js";
import type { BenchContext, Measurement, RssSummary, RunningTarget, Scenario } from "../registry.js";
import { startRssSampler } from "../rss.js";
import { SMGATE_MYSQL_ENC, skippedReason } from "../targets/mysql-smgate-encrypted.js";
import {
  createMysqlEncTables,
  ensureMysqlEncKeystore,
  INSERT_ENGINE,
  loadEncryptedRows,
  loadPlainRows,
  mysqlEncDatabase,
  plainRow,
  TABLES,
} from "./mysql-encrypted-data.js";

export const SELECT_ROWS = 1_000_000;
export const SELECT_BAR_ROWS_PER_SEC = 150_000;
export const INSERT_BAR_PER_SEC = 15_000;

const ENC_TARGETS = ["mysql-direct", SMGATE_MYSQL_ENC] as const;
const RATIOS = [{ numerator: SMGATE_MYSQL_ENC, denominator: "mysql-direct" }];

function endpointOf(ctx: BenchContext, target: RunningTarget) {
  const server = mysqlServer(ctx);
  const ep = target.endpoints?.mysql ?? { host: target.host, port: target.port };
  return {
    host: ep.host,
    port: ep.port,
    user: server.user,
    password: server.password,
    database: mysqlEncDatabase(ctx),
  };
}

function skipped(target: RunningTarget, unit: "rows/s" | "ops/s"): Measurement | undefined {
  const reason = skippedReason(target);
  return reason ? { target: target.name, throughput: { value: 0, unit }, skipped: reason } : undefined;
}

/** Database, tables and the plaintext rows (cheap: the server generates them); once per run, dropped at the end. */
function ensureTables(ctx: BenchContext): Promise<void> {
  return ctx.once("mysql-enc-tables", async () => {
    const server = mysqlServer(ctx);
    const db = mysqlEncDatabase(ctx);
    ctx.log(`  creating ${db} and loading ${SELECT_ROWS.toLocaleString("en-US")} plaintext rows`);
    await createMysqlEncTables(server, db);
    ctx.atEnd(async () => {
      await mysqlQuery(server, `DROP DATABASE IF EXISTS \`${db}\``);
    });
    await loadPlainRows(server, db, SELECT_ROWS);
  });
}

/** The encrypted rows (offline encryption, minutes for 1M rows): only when the encrypted target really runs. */
function ensureEncryptedRows(ctx: BenchContext): Promise<void> {
  return ctx.once("mysql-enc-rows", async () => {
    await ensureTables(ctx);
    const ks = await ensureMysqlEncKeystore(ctx);
    ctx.log(`  encrypting ${SELECT_ROWS.toLocaleString("en-US")} rows offline (storage form of smgate migrate)`);
    const sec = await loadEncryptedRows(mysqlServer(ctx), mysqlEncDatabase(ctx), ks, SELECT_ROWS, ctx.log);
    ctx.log(`  encrypted table loaded in ${sec.toFixed(1)} s`);
  });
}

/** Reads both tables once directly so every measured read starts from the same (warm) server cache. */
function warmServerCache(ctx: BenchContext, encrypted: boolean): Promise<void> {
  return ctx.once(`mysql-enc-warm:${encrypted}`, async () => {
    const table = encrypted ? TABLES.selectEnc : TABLES.selectPlain;
    await mysqlQuery(
      { ...mysqlServer(ctx), database: mysqlEncDatabase(ctx) },
      `SELECT COUNT(*), SUM(LENGTH(name)), SUM(LENGTH(phone)) FROM \`${table}\``,
    );
  });
}

/** Checks through the target that a few rows read back as their plaintext (decryption really happened). */
async function checkRowsReadable(ctx: BenchContext, target: RunningTarget, table: string, ids: number[]) {
  const rows = await mysqlQuery<{ id: number; name: string; phone: string }>(
    endpointOf(ctx, target),
    `SELECT id, name, phone FROM \`${table}\` WHERE id IN (${ids.join(",")}) ORDER BY id`,
  );
  if (rows.length !== ids.length) throw new Error(`bench: ${table} via ${target.name}: expected ${ids.length} rows`);
  for (const r of rows) {
    const want = plainRow(Number(r.id));
    if (r.name !== want.name || r.phone !== want.phone) {
      throw new Error(`bench: ${table} via ${target.name}: row ${r.id} does not read back as its plaintext`);
    }
  }
}

export const mysqlEncryptedSelectScenario: Scenario = {
  name: "mysql-encrypted-select-1m",
  description: `SELECT 1M rows (RND + FPE column) via smgate vs the plaintext table directly (bar: ≥ ${SELECT_BAR_ROWS_PER_SEC.toLocaleString("en-US")} rows/s)`,
  targets: ENC_TARGETS,
  ratios: RATIOS,
  setup: ensureTables,
  async warmup(ctx, target) {
    if (skippedReason(target)) return;
    const encrypted = target.name === SMGATE_MYSQL_ENC;
    if (encrypted) await ensureEncryptedRows(ctx);
    await warmServerCache(ctx, encrypted);
  },
  async run(ctx, target): Promise<Measurement> {
    const skip = skipped(target, "rows/s");
    if (skip) return skip;
    const table = target.name === SMGATE_MYSQL_ENC ? TABLES.selectEnc : TABLES.selectPlain;
    await checkRowsReadable(ctx, target, table, [1, SELECT_ROWS / 2, SELECT_ROWS]);
    const sampler = target.pid !== undefined ? startRssSampler(target.pid) : undefined;
    let got: { rows: number; elapsedMs: number };
    let rss: RssSummary | undefined;
    try {
      got = await mysqlStreamQuery(endpointOf(ctx, target), `SELECT id, name, phone, amount FROM \`${table}\``);
    } finally {
      rss = sampler?.stop();
    }
    if (got.rows !== SELECT_ROWS)
      throw new Error(`bench: read ${got.rows} rows from ${table}, expected ${SELECT_ROWS}`);
    const perSec = got.rows / (got.elapsedMs / 1000);
    return {
      target: target.name,
      throughput: { value: perSec, unit: "rows/s" },
      completed: got.rows,
      failed: 0,
      elapsedSec: got.elapsedMs / 1000,
      rss,
      details: {
        table,
        client: "mariadb --quick --batch (text protocol), rows counted by wc -l and discarded",
        ...(target.name === SMGATE_MYSQL_ENC
          ? { bar: SELECT_BAR_ROWS_PER_SEC, meetsBar: perSec >= SELECT_BAR_ROWS_PER_SEC }
          : {}),
      },
    };
  },
};

export const mysqlEncryptedInsertScenario: Scenario = {
  name: "mysql-encrypted-insert-8c",
  description: `--clients (8) clients of prepared single-row INSERTs, 2 encrypted columns via smgate vs plaintext directly (bar: ≥ ${INSERT_BAR_PER_SEC.toLocaleString("en-US")}/s)`,
  targets: ENC_TARGETS,
  ratios: RATIOS,
  setup: ensureTables,
  async run(ctx, target): Promise<Measurement> {
    const skip = skipped(target, "ops/s");
    if (skip) return skip;
    const encrypted = target.name === SMGATE_MYSQL_ENC;
    const table = encrypted ? TABLES.insertEnc : TABLES.insertPlain;
    const server = { ...mysqlServer(ctx), database: mysqlEncDatabase(ctx) };
    await mysqlQuery(server, `TRUNCATE TABLE \`${table}\``);
    const script = await ctx.once("sysbench-insert-script", () => writeSysbenchInsertScript(ctx.tmpDir));
    const run = await runSysbench({
      ...endpointOf(ctx, target),
      workload: script,
      threads: ctx.options.clients,
      durationSec: ctx.options.durationSec,
      extraArgs: [`--table=${table}`],
    });
    const res = { rows: run.summary.transactions, perSec: run.summary.tps, failed: run.summary.ignoredErrors };
    let stored: Record<string, unknown> = {};
    if (encrypted && res.rows > 0) {
      // what reached the server: every name an envelope, (practically) no phone left as its plaintext
      const [s] = await mysqlQuery<{ n: number; envelopes: number; clearPhones: number }>(
        server,
        `SELECT COUNT(*) AS n, SUM(name LIKE 'smg1:%') AS envelopes, ` +
          `SUM(phone = CONCAT('138', LPAD(id, 8, '0'))) AS clearPhones FROM \`${table}\``,
      );
      stored = { storedRows: Number(s.n), envelopes: Number(s.envelopes), clearPhones: Number(s.clearPhones) };
      if (Number(s.envelopes) !== Number(s.n) || Number(s.clearPhones) > Number(s.n) / 1000) {
        throw new Error(
          `bench: rows inserted through ${target.name} are not stored encrypted (${JSON.stringify(stored)})`,
        );
      }
      await checkRowsReadable(ctx, target, table, [1]);
    }
    return {
      target: target.name,
      throughput: { value: res.perSec, unit: "ops/s" },
      latencyP99Ms: run.p99Ms,
      latencyAvgMs: run.summary.latency.avgMs,
      completed: res.rows,
      failed: res.failed,
      elapsedSec: run.summary.totalTimeSec,
      details: {
        table,
        client: `sysbench, ${ctx.options.clients} threads, one prepared INSERT (COM_STMT_EXECUTE) per event, autocommit`,
        sysbench: `sysbench ${run.args.join(" ")}`.replace(ctx.tmpDir, "<tmp>"),
        engine: INSERT_ENGINE,
        latencyP95Ms: run.p95Ms,
        ...stored,
        ...(encrypted ? { bar: INSERT_BAR_PER_SEC, meetsBar: res.perSec >= INSERT_BAR_PER_SEC } : {}),
      },
    };
  },
};

export const mysqlEncryptedScenarios: Scenario[] = [mysqlEncryptedSelectScenario, mysqlEncryptedInsertScenario];
