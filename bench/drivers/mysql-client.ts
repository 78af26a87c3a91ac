// MySQL helpers of the benchmark harness (mysql2): the server of the run, one-statement queries on a fresh
// connection, and waiting until a MySQL-speaking endpoint (the server or a gateway listener) answers.
import mysql from "mysql2/promise";
import { pollUntilAnswered } from "../net.js";
import type { BenchContext } from "../registry.js";

export interface MysqlEndpoint {
  host: string;
  port: number;
  user: string;
  password?: string;
  /** Database to select on connect (none when absent). */
  database?: string;
}

export const DEFAULT_MYSQL = { host: "127.0.0.1", port: 3306, user: "root" } as const;

/** The MySQL/MariaDB server of this run (--mysql, --mysql-user; default 127.0.0.1:3306 root). */
export function mysqlServer(ctx: BenchContext): MysqlEndpoint {
  return ctx.options.mysql ?? { ...DEFAULT_MYSQL };
}

export async function mysqlConnect(ep: MysqlEndpoint): Promise<mysql.Connection> {
  return await mysql.createConnection({
    host: ep.host,
    port: ep.port,
    user: ep.user,
    password: ep.password ?? "",
    database: ep.database,
    charset: "utf8mb4",
    connectTimeout: 10_000,
  });
}

/** Runs statements on a fresh connection (the harness needs few); returns the last one's rows. */
export async function mysqlQuery<R = Record<string, unknown>>(ep: MysqlEndpoint, ...sql: string[]): Promise<R[]> {
  const c = await mysqlConnect(ep);
  try {
    let rows: unknown = [];
    for (const s of sql) [rows] = await c.query(s);
    return rows as R[];
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Polls `SELECT 1` until it succeeds, `alive` reports the process behind it dead, or `timeoutMs` passes. */
export async function waitForMysql(
  ep: MysqlEndpoint,
  timeoutMs: number,
  alive: () => string | undefined = () => undefined,
): Promise<void> {
  await pollUntilAnswered(`MySQL ${ep.host}:${ep.port}`, () => mysqlQuery(ep, "SELECT 1"), timeoutMs, alive);
}
