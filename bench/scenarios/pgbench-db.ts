// The pgbench database of a run: dropped, re-created and initialised (`pgbench -i -s <scale>`) once per run
// directly on the server, plus pgbench's usual pre-run cleanup (done directly, so every target starts alike).
import { runCommand } from "../children.js";
import { pgQuery } from "../net.js";
import type { BenchContext } from "../registry.js";
import { requireTool } from "../tools.js";

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function ensurePgbenchDatabase(ctx: BenchContext): Promise<void> {
  await ctx.once("pgbench-database", async () => {
    const { host, port, user } = ctx.options.pg;
    const db = ctx.options.database;
    const admin = { host, port, user, database: "postgres" };
    ctx.log(`initialising database ${db} (pgbench -i -s ${ctx.options.scale})`);
    await pgQuery(admin, `drop database if exists ${quoteIdent(db)} with (force)`);
    await pgQuery(admin, `create database ${quoteIdent(db)}`);
    ctx.atEnd(async () => {
      await pgQuery(admin, `drop database if exists ${quoteIdent(db)} with (force)`);
    });
    const started = performance.now();
    const res = await runCommand(requireTool("pgbench"), [
      "-h",
      host,
      "-p",
      String(port),
      "-U",
      user,
      "-i",
      "-q",
      "-s",
      String(ctx.options.scale),
      db,
    ]);
    if (res.code !== 0)
      throw new Error(`bench: pgbench -i failed: ${res.stderr.trim().split("\n").slice(-3).join(" ")}`);
    ctx.log(`database ${db} ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });
}

/** What pgbench does before a run unless -n: vacuum the small tables and empty the history. */
export async function pgbenchPreRunCleanup(ctx: BenchContext): Promise<void> {
  const { host, port, user } = ctx.options.pg;
  const ep = { host, port, user, database: ctx.options.database };
  await pgQuery(ep, "vacuum pgbench_branches");
  await pgQuery(ep, "vacuum pgbench_tellers");
  await pgQuery(ep, "truncate pgbench_history");
}
