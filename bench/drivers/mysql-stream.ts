// Streaming reader for the MySQL scenarios: runs one SELECT with the mariadb command-line client in --quick mode
// (rows are written as they arrive, nothing is buffered), counts the rows with `wc -l` and discards them. The
// elapsed time is measured around the whole command (client start-up is a few ms of a multi-second read).
import { runCommand } from "../children.js";
import { findTool, type ToolSpec } from "../tools.js";
import type { MysqlEndpoint } from "./mysql-client.js";

export const MARIADB_CLIENT_TOOL: ToolSpec = {
  name: "mariadb",
  extraDirs: () => ["/usr/local/bin"],
  install: "install it with `apt-get install mariadb-client` (Debian) or put the mariadb client on PATH",
};

let clientPath: string | undefined;

export function requireMariadbClient(): string {
  clientPath ??= findTool(MARIADB_CLIENT_TOOL);
  return clientPath;
}

export interface MysqlStreamResult {
  rows: number;
  elapsedMs: number;
}

/** Runs `sql` (one statement producing rows) and returns the row count and the wall time of the read. */
export async function mysqlStreamQuery(
  ep: MysqlEndpoint & { database: string },
  sql: string,
  timeoutMs = 30 * 60_000,
): Promise<MysqlStreamResult> {
  const cli = requireMariadbClient();
  const args = [
    "--quick",
    "--batch",
    "--skip-column-names",
    "--skip-ssl",
    "--protocol=TCP",
    "-h",
    ep.host,
    "-P",
    String(ep.port),
    "-u",
    ep.user,
    "-D",
    ep.database,
    "-e",
    sql,
  ];
  const env = { ...process.env, MYSQL_PWD: ep.password ?? "" };
  const script = 'set -o pipefail; "$@" | wc -l';
  const t0 = process.hrtime.bigint();
  const res = await runCommand("bash", ["-c", script, "bash", cli, ...args], { env, timeoutMs });
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.code !== 0) {
    throw new Error(
      `bench: mariadb client exited with ${res.code}: ${res.stderr.trim().replace(/\s+/g, " ").slice(-600)}`,
    );
  }
  const rows = Number(res.stdout.trim());
  if (!Number.isInteger(rows)) throw new Error(`bench: could not count rows (wc printed "${res.stdout.trim()}")`);
  return { rows, elapsedMs };
}
