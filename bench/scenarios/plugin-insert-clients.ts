// Insert load for the plugin benchmark (bench/plugins.ts) driven by the databases' own C load generators, so the
// client is not the limit on a small machine: pgbench (PostgreSQL) and sysbench (MariaDB), N clients each
// sending single-row INSERTs for a fixed time, `rowsPerTxn` INSERTs per transaction (1 = autocommit).
// PostgreSQL ids come from a sequence (pgbench has no per-client counter); MariaDB ids from a per-thread range.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ClientLoad {
  clients: number;
  seconds: number;
  rowsPerTxn: number;
}

async function has(cmd: string): Promise<boolean> {
  try {
    await run(cmd, ["--version"]);
    return true;
  } catch {
    return false;
  }
}

export const hasPgbench = (): Promise<boolean> => has("pgbench");
export const hasSysbench = (): Promise<boolean> => has("sysbench");

/**
 * pgbench -M prepared against `table` (a plain table or the plugin's view). `options` go to the server as
 * PGOPTIONS (e.g. `-c smgate.token=…`, `-c synchronous_commit=off`). Returns rows inserted per second.
 */
export async function pgbenchInserts(
  conn: { host: string; port: number; user: string; database: string },
  table: string,
  sequence: string,
  load: ClientLoad,
  options: string[],
): Promise<{ perSec: number; tps: number }> {
  const dir = mkdtempSync(join(tmpdir(), "smg-pgbench-"));
  try {
    const insert = `INSERT INTO ${table} (id, a, b, c) SELECT n, 'patient name ' || n, '139' || lpad(n::text, 8, '0'), n FROM (SELECT nextval('${sequence}')::int AS n) s;`;
    const body = load.rowsPerTxn > 1 ? ["BEGIN;", ...Array(load.rowsPerTxn).fill(insert), "COMMIT;"] : [insert];
    const script = join(dir, "insert.sql");
    writeFileSync(script, `${body.join("\n")}\n`);
    const { stdout } = await run(
      "pgbench",
      [
        "-n",
        "-M",
        "prepared",
        "-c",
        String(load.clients),
        "-j",
        String(Math.min(load.clients, 2)),
        "-T",
        String(load.seconds),
        "-f",
        script,
        "-h",
        conn.host,
        "-p",
        String(conn.port),
        "-U",
        conn.user,
        conn.database,
      ],
      {
        env: { ...process.env, PGOPTIONS: options.join(" ") },
        maxBuffer: 1 << 22,
        timeout: (load.seconds + 120) * 1000,
      },
    );
    const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
    if (!m) throw new Error(`pgbench printed no tps: ${stdout.slice(-500)}`);
    const tps = Number(m[1]);
    return { tps, perSec: tps * load.rowsPerTxn };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SYSBENCH_LUA = `
local tbl = os.getenv("SMG_TABLE")
local token = os.getenv("SMG_TOKEN")
local per_txn = tonumber(os.getenv("SMG_ROWS_PER_TXN"))
local first = tonumber(os.getenv("SMG_FIRST_ID"))
function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
  if token ~= nil and token ~= "" then con:query("SET @smgate_token = '" .. token .. "'") end
  next_id = first + sysbench.tid * 10000000
end
function thread_done() con:disconnect() end
function event()
  if per_txn > 1 then con:query("BEGIN") end
  for i = 1, per_txn do
    local n = next_id
    next_id = next_id + 1
    con:query(string.format("INSERT INTO %s (id, a, b, c) VALUES (%d, 'patient name %d', '139%08d', %d)", tbl, n, n, n, n))
  end
  if per_txn > 1 then con:query("COMMIT") end
end
`;

/** sysbench (text protocol) against `table`; `token` is SET as @smgate_token first. Returns rows/s. */
export async function sysbenchInserts(
  conn: { host: string; port: number; user: string; password: string; database: string },
  table: string,
  firstId: number,
  load: ClientLoad,
  token: string | undefined,
): Promise<{ perSec: number; tps: number }> {
  const dir = mkdtempSync(join(tmpdir(), "smg-sysbench-"));
  try {
    const script = join(dir, "insert.lua");
    writeFileSync(script, SYSBENCH_LUA);
    const { stdout } = await run(
      "sysbench",
      [
        script,
        "--db-driver=mysql",
        `--mysql-host=${conn.host}`,
        `--mysql-port=${conn.port}`,
        `--mysql-user=${conn.user}`,
        `--mysql-password=${conn.password}`,
        `--mysql-db=${conn.database}`,
        `--threads=${load.clients}`,
        `--time=${load.seconds}`,
        "--events=0",
        "run",
      ],
      {
        env: {
          ...process.env,
          SMG_TABLE: table,
          SMG_TOKEN: token ?? "",
          SMG_ROWS_PER_TXN: String(load.rowsPerTxn),
          SMG_FIRST_ID: String(firstId),
        },
        maxBuffer: 1 << 22,
        timeout: (load.seconds + 120) * 1000,
      },
    );
    const m = /transactions:\s+\d+\s+\(([\d.]+) per sec\.\)/.exec(stdout);
    if (!m) throw new Error(`sysbench printed no transaction rate: ${stdout.slice(-500)}`);
    const tps = Number(m[1]);
    return { tps, perSec: tps * load.rowsPerTxn };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
