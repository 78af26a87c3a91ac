// Target "smgate": the gateway built in dist/, started by the harness as a child process
// (`node dist/cli/main.js start --config <file>`) on a free port with a temporary smgate.yaml, policy and
// keystore. `startSmgate` is exported so feature benchmarks can register variants (an encryption policy, a
// MySQL listener) without repeating the process handling.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { runCommand, spawnTracked } from "../children.js";
import { waitForMysql } from "../drivers/mysql-client.js";
import { freePort, waitForPostgres } from "../net.js";
import type { BenchContext, RunningTarget, TargetDefinition } from "../registry.js";
import { prepareKeystore } from "./smgate-keystore.js";

export interface SmgateTargetOptions {
  /** Target name in reports. */
  name: string;
  /** policy.yaml text; default: an empty policy (`version: 1`), i.e. pure passthrough. */
  policyYaml?: string;
  /** Named data keys the keystore must hold (e.g. for an encryption policy). */
  keyNames?: readonly string[];
  /** Extra top-level smgate.yaml entries (e.g. a `mysql` listener; its listen port via `extraPorts`). */
  extraConfig?: (ports: Record<string, number>) => Record<string, unknown>;
  /** Names of extra free ports to allocate and pass to `extraConfig` (e.g. ["mysql"]). */
  extraPorts?: readonly string[];
  /** A MySQL listener on a free port in front of this server (endpoints.mysql); waited for like the pg one. */
  mysql?: { backend: { host: string; port: number; user: string; password?: string } };
  /** false = no PostgreSQL listener (a MySQL-only gateway; host/port are then the MySQL listener's). */
  pg?: boolean;
  /** Use this existing keystore (created by the scenario, e.g. to encrypt data offline) instead of a new one. */
  keystore?: { path: string; passphrase: string };
}

function smgateMain(ctx: BenchContext): string {
  const main = join(ctx.repoRoot, "dist", "cli", "main.js");
  if (!existsSync(main)) throw new Error(`bench: ${main} is missing; run \`npm run build\` first`);
  return main;
}

/** Fails clearly when this build has no `smgate start` command yet. */
async function checkStartCommand(main: string): Promise<void> {
  const res = await runCommand(process.execPath, [main, "start", "--help"]);
  if (res.code !== 0 || !/--config/.test(res.stdout)) {
    throw new Error(
      `bench: this build of smgate has no \`start --config\` command (\`node dist/cli/main.js start --help\` exited with ${res.code}); build the gateway first (npm run build)`,
    );
  }
}

async function smgateVersion(main: string): Promise<string> {
  const res = await runCommand(process.execPath, [main, "--version"]);
  return res.stdout.trim() || "unknown";
}

export async function startSmgate(ctx: BenchContext, opts: SmgateTargetOptions): Promise<RunningTarget> {
  const main = smgateMain(ctx);
  await checkStartCommand(main);
  const dir = join(ctx.tmpDir, opts.name);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const extraPorts: Record<string, number> = {};
  for (const p of opts.extraPorts ?? []) extraPorts[p] = await freePort();

  const mysqlPort = opts.mysql ? await freePort() : undefined;
  const withPg = opts.pg !== false;

  const passphrase = opts.keystore?.passphrase ?? randomBytes(24).toString("base64url");
  const env = { ...process.env, SMGATE_PASSPHRASE: passphrase };
  const keystorePath = opts.keystore?.path ?? join(dir, "keystore.json");
  if (!opts.keystore) {
    await prepareKeystore(ctx, {
      path: keystorePath,
      passphraseEnv: "SMGATE_PASSPHRASE",
      env,
      keyNames: opts.keyNames ?? [],
    });
  }
  const policyPath = join(dir, "policy.yaml");
  await writeFile(policyPath, opts.policyYaml ?? "version: 1\n");
  const { host, port: backendPort } = ctx.options.pg;
  const mysqlBackend = opts.mysql?.backend;
  const config = {
    ...(withPg ? { pg: { listen: `127.0.0.1:${port}`, backend: `${host}:${backendPort}` } } : {}),
    ...(mysqlBackend && mysqlPort !== undefined
      ? { mysql: { listen: `127.0.0.1:${mysqlPort}`, backend: `${mysqlBackend.host}:${mysqlBackend.port}` } }
      : {}),
    keystore: { provider: "file", path: keystorePath, passphrase_env: "SMGATE_PASSPHRASE" },
    policy: policyPath,
    ...(opts.extraConfig?.(extraPorts) ?? {}),
  };
  const configPath = join(dir, "smgate.yaml");
  await writeFile(configPath, stringify(config));

  const args = [main, "start", "--config", configPath];
  if (ctx.options.smgateWorkers !== undefined) args.push("--workers", String(ctx.options.smgateWorkers));
  args.push(...ctx.options.smgateArgs);
  const proc = spawnTracked(process.execPath, args, { env, cwd: dir });
  const listenHost = "127.0.0.1";
  const atStart = () => proc.exitReport("bench: smgate (at start)");
  try {
    if (withPg) {
      await waitForPostgres(
        { host: listenHost, port, user: ctx.options.pg.user, database: "postgres" },
        30_000,
        atStart,
      );
    }
    if (mysqlBackend && mysqlPort !== undefined) {
      const { user, password } = mysqlBackend;
      await waitForMysql({ host: listenHost, port: mysqlPort, user, password }, 30_000, atStart);
    }
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const mainPort = withPg || mysqlPort === undefined ? port : mysqlPort;
  ctx.log(`${opts.name} listening on ${listenHost}:${mainPort} (pid ${proc.pid})`);
  const endpoints: Record<string, { host: string; port: number }> = Object.fromEntries(
    Object.entries(extraPorts).map(([k, p]) => [k, { host: listenHost, port: p }]),
  );
  if (mysqlPort !== undefined) endpoints.mysql = { host: listenHost, port: mysqlPort };
  return {
    name: opts.name,
    host: listenHost,
    port: mainPort,
    pid: proc.pid,
    endpoints,
    info: {
      command: `node dist/cli/main.js ${args.slice(1).join(" ").replace(dir, "<tmp>")}`,
      version: await smgateVersion(main),
      workers: ctx.options.smgateWorkers ?? "default",
    },
    health: () => proc.exitReport("smgate"),
    async stop() {
      await proc.stop(10_000);
    },
  };
}

export const smgateTarget: TargetDefinition = {
  name: "smgate",
  description: "smgate PostgreSQL gateway, empty policy (passthrough)",
  start: (ctx) => startSmgate(ctx, { name: "smgate" }),
};
