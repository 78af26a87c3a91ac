// `smgate start --config smgate.yaml [--workers N|auto]`: runs the configured listeners — in this process
// (--workers 1, the default) or in N node:cluster workers sharing the ports — plus the metrics listener and
// the admin API. SIGHUP reloads the policy in every worker; SIGTERM/SIGINT drain (sessions finish their
// transaction up to --shutdown-timeout) and exit 0. Prints stable lines to stdout for scripts:
// "smgate: pg listening on HOST:PORT", "smgate: ready (N workers)", "smgate: reload ok|refused|failed …".
import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { loadConfig } from "../policy/config.js";
import { startControlPlane } from "../proxy/cluster/control-plane.js";
import type { ReloadReport } from "../proxy/cluster/reload.js";
import { runClusterWorker } from "../proxy/cluster/worker.js";
import { createLogger, setRootLogger } from "../proxy/log.js";

export interface StartOptions {
  config: string;
  shutdownTimeout: string;
  logLevel?: string;
  workers?: string;
}

/** --workers (N or "auto") over smgate.yaml `workers`, default 1 (no cluster). */
export function resolveWorkers(flag: string | undefined, configured: number | undefined): number {
  if (flag === undefined) return configured ?? 1;
  if (flag === "auto") return availableParallelism();
  const n = Number(flag);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`--workers: expected 1-256 or "auto", got "${flag}"`);
  return n;
}

function reloadLine(r: ReloadReport): string {
  const n = r.workers?.length ?? 0;
  if (r.ok) return `smgate: reload ok generation ${r.generation} (${n} worker${n === 1 ? "" : "s"} confirmed)`;
  if (!r.workers) return `smgate: reload refused: ${(r.problems ?? []).join("; ")}`;
  return `smgate: reload failed in some workers: ${(r.problems ?? []).join("; ")}`;
}

export async function runStart(opts: StartOptions): Promise<void> {
  const config = loadConfig(opts.config);
  const logger = createLogger({ level: opts.logLevel ?? config.log.level });
  setRootLogger(logger);
  const deadline = Number(opts.shutdownTimeout);
  if (!Number.isFinite(deadline) || deadline < 0) throw new Error(`--shutdown-timeout: not a duration in ms`);
  if (cluster.isWorker) {
    runClusterWorker({ config, configFile: opts.config, logger, shutdownTimeoutMs: deadline });
    return;
  }
  const workers = resolveWorkers(opts.workers, config.workers);
  const announce = (line: string) => process.stdout.write(`${line}\n`);
  const plane = await startControlPlane({ config, configFile: opts.config, logger, workers, announce });

  process.on("SIGHUP", () => {
    plane.reload("signal:SIGHUP").then(
      (r) => announce(reloadLine(r)),
      (e: Error) => logger.error({ err: e.message }, "policy reload crashed"),
    );
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    plane.stop(deadline, signal).then(
      () => {
        logger.info("smgate stopped");
        logger.flush();
        process.exit(0);
      },
      (e: Error) => {
        logger.error({ err: e.message }, "shutdown failed");
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

export function registerStartCommand(program: Command): void {
  program
    .command("start")
    .description("run the gateway listeners configured in smgate.yaml")
    .requiredOption("-c, --config <file>", "path of smgate.yaml")
    .option("-w, --workers <n>", 'worker processes (node:cluster); "auto" = one per CPU (default: workers: or 1)')
    .option("--shutdown-timeout <ms>", "graceful shutdown deadline in milliseconds", "10000")
    .option("--log-level <level>", "override log.level from the config (fatal|error|warn|info|debug|trace|silent)")
    .action(async (opts: StartOptions) => {
      await runStart(opts);
    });
}
