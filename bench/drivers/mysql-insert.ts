// Insert load for the MySQL scenarios: N mysql2 connections, each repeating one prepared single-row INSERT
// (COM_STMT_PREPARE once, COM_STMT_EXECUTE per row, autocommit) for a fixed time, with ids from a shared
// counter. Returns rows/s, the count and per-statement latency percentiles (client-side).
import type mysql from "mysql2/promise";
import { percentiles } from "../stats.js";
import { type MysqlEndpoint, mysqlConnect } from "./mysql-client.js";

export interface InsertLoadSpec {
  endpoint: MysqlEndpoint & { database: string };
  clients: number;
  durationSec: number;
  /** The INSERT with `?` placeholders. */
  sql: string;
  /** Parameter values of the row with this id. */
  row: (id: number) => (string | number)[];
  firstId: number;
}

export interface InsertLoadResult {
  rows: number;
  failed: number;
  elapsedSec: number;
  perSec: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  firstError?: string;
}

export async function runInsertLoad(spec: InsertLoadSpec): Promise<InsertLoadResult> {
  const conns: mysql.Connection[] = [];
  try {
    for (let i = 0; i < spec.clients; i++) conns.push(await mysqlConnect(spec.endpoint));
    // prepare on every connection before the clock starts
    for (const c of conns) await c.prepare(spec.sql);
    let next = spec.firstId;
    let rows = 0;
    let failed = 0;
    let firstError: string | undefined;
    const latencies: number[] = [];
    const t0 = process.hrtime.bigint();
    const deadline = Date.now() + spec.durationSec * 1000;
    await Promise.all(
      conns.map(async (c) => {
        while (Date.now() < deadline) {
          const id = next++;
          const s = process.hrtime.bigint();
          try {
            await c.execute(spec.sql, spec.row(id));
            rows++;
            latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
          } catch (err) {
            failed++;
            firstError ??= err instanceof Error ? err.message : String(err);
            if (failed > 100) throw new Error(`bench: inserts keep failing: ${firstError}`);
          }
        }
      }),
    );
    const elapsedSec = Number(process.hrtime.bigint() - t0) / 1e9;
    const [p50Ms, p95Ms, p99Ms] = percentiles(latencies, [50, 95, 99]);
    return { rows, failed, elapsedSec, perSec: rows / elapsedSec, p50Ms, p95Ms, p99Ms, firstError };
  } finally {
    await Promise.all(conns.map((c) => c.end().catch(() => undefined)));
  }
}
