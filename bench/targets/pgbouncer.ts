// Target "pgbouncer": the Debian pgbouncer started by the harness as a child process on a free port, session
// pooling, trust auth towards the client (the server behind uses trust too), from a temporary ini + userlist.
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { spawnTracked } from "../children.js";
import { freePort, waitForPostgres } from "../net.js";
import type { BenchContext, RunningTarget, TargetDefinition } from "../registry.js";
import { requireTool, toolVersion } from "../tools.js";

export interface PgbouncerIniSpec {
  listenPort: number;
  backendHost: string;
  backendPort: number;
  authFile: string;
  poolSize: number;
}

/** The pgbouncer.ini the harness uses (exported so the tests can check it). */
export function pgbouncerIni(spec: PgbouncerIniSpec): string {
  return [
    "[databases]",
    `* = host=${spec.backendHost} port=${spec.backendPort}`,
    "",
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${spec.listenPort}`,
    "unix_socket_dir =",
    "auth_type = trust",
    `auth_file = ${spec.authFile}`,
    "pool_mode = session",
    `default_pool_size = ${spec.poolSize}`,
    `max_client_conn = ${Math.max(200, spec.poolSize * 4)}`,
    "logfile =",
    "log_connections = 0",
    "log_disconnections = 0",
    "stats_period = 3600",
    "ignore_startup_parameters = extra_float_digits,options",
    "",
  ].join("\n");
}

export const pgbouncerTarget: TargetDefinition = {
  name: "pgbouncer",
  description: "pgbouncer (session pooling) in front of the server",
  async start(ctx: BenchContext): Promise<RunningTarget> {
    const bin = requireTool("pgbouncer");
    const version = await toolVersion("pgbouncer");
    const dir = join(ctx.tmpDir, "pgbouncer");
    await mkdir(dir, { recursive: true });
    const port = await freePort();
    const authFile = join(dir, "userlist.txt");
    const iniFile = join(dir, "pgbouncer.ini");
    const poolSize = Math.max(20, ctx.options.clients * 2);
    await writeFile(authFile, `"${ctx.options.pg.user}" ""\n`);
    await writeFile(
      iniFile,
      pgbouncerIni({
        listenPort: port,
        backendHost: ctx.options.pg.host,
        backendPort: ctx.options.pg.port,
        authFile,
        poolSize,
      }),
    );
    // pgbouncer refuses to run as root; as root it drops to the postgres user, which must read these files.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      await chmod(ctx.tmpDir, 0o755);
      await chmod(dir, 0o755);
      await chmod(authFile, 0o644);
      await chmod(iniFile, 0o644);
    }
    const args = asRoot ? ["-u", "postgres", iniFile] : [iniFile];
    const proc = spawnTracked(bin, args);
    const host = "127.0.0.1";
    try {
      await waitForPostgres({ host, port, user: ctx.options.pg.user, database: "postgres" }, 15_000, () =>
        proc.exitReport("bench: pgbouncer (at start)"),
      );
    } catch (err) {
      await proc.stop();
      throw err;
    }
    ctx.log(`pgbouncer listening on ${host}:${port} (pid ${proc.pid})`);
    return {
      name: "pgbouncer",
      host,
      port,
      pid: proc.pid,
      info: { version, pool_mode: "session", default_pool_size: poolSize },
      health: () => proc.exitReport("pgbouncer"),
      stop: () => proc.stop(),
    };
  },
};
