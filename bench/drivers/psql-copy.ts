// psql driver: streams `COPY (<query>) TO STDOUT` through psql's \copy into /dev/null, so a real client
// consumes the whole result without keeping it, and reads the row count psql reports ("COPY n").
import { runCommand } from "../children.js";
import { requireTool } from "../tools.js";

export interface PsqlCopySpec {
  host: string;
  port: number;
  user: string;
  database: string;
  /** The SELECT whose rows are copied out. */
  query: string;
  /** Kill psql after this long (default 30 min). */
  timeoutMs?: number;
}

export interface PsqlCopyResult {
  rows: number;
  elapsedMs: number;
}

export async function psqlCopyOut(spec: PsqlCopySpec): Promise<PsqlCopyResult> {
  const meta = `\\copy (${spec.query.replace(/\s+/g, " ")}) to '/dev/null'`;
  const args = [
    "-h",
    spec.host,
    "-p",
    String(spec.port),
    "-U",
    spec.user,
    "-d",
    spec.database,
    "-X",
    "-v",
    "ON_ERROR_STOP=1",
    "-c",
    meta,
  ];
  const started = performance.now();
  const res = await runCommand(requireTool("psql"), args, {
    env: { ...process.env, PGAPPNAME: "smgate-bench" },
    timeoutMs: spec.timeoutMs ?? 30 * 60_000,
  });
  const elapsedMs = performance.now() - started;
  if (res.code !== 0)
    throw new Error(`bench: psql \\copy failed against ${spec.host}:${spec.port}: ${res.stderr.trim()}`);
  const m = /^COPY (\d+)$/m.exec(res.stdout);
  if (!m) throw new Error(`bench: psql printed no "COPY n" line: ${res.stdout.trim().slice(0, 200)}`);
  return { rows: Number(m[1]), elapsedMs };
}
