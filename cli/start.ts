// `smgate start --config smgate.yaml`: runs the configured listeners until SIGTERM/SIGINT, then shuts down
// gracefully (stop accepting, let sessions finish their transaction up to --shutdown-timeout, close the rest).
// Prints one line per listener to stdout once it accepts connections ("smgate: pg listening on HOST:PORT").
import type { Command } from "commander";
import { loadConfig } from "../policy/config.js";
import { PolicyHolder } from "../policy/holder.js";
import { createLogger, setRootLogger } from "../proxy/log.js";
import { GatewayMetrics } from "../proxy/metrics.js";
import { type MetricsListener, startMetricsListener } from "../proxy/metrics-listener.js";
import { pgEncryptionFromConfig } from "../proxy/pg/encrypt/from-config.js";
import { parseHostPort, startGateway } from "../proxy/server.js";

export interface StartOptions {
  config: string;
  shutdownTimeout: string;
  logLevel?: string;
}

export async function runStart(opts: StartOptions): Promise<void> {
  const config = loadConfig(opts.config);
  const logger = createLogger({ level: opts.logLevel ?? config.log.level });
  setRootLogger(logger);
  if (config.mysql && PolicyHolder.fromConfig(config).current().protectedTables().size > 0) {
    // fail closed: a transparent MySQL listener would let protected columns through unencrypted
    throw new Error(
      `${opts.config}: the mysql listener has no encryption layer in this build, and the policy protects tables; ` +
        "remove the mysql section (or run it without a protecting policy) until MySQL field encryption is available",
    );
  }
  // field-level encryption (keystore + policy) when the policy protects anything; SIGHUP reloads the policy
  const metrics = new GatewayMetrics();
  const encryption = await pgEncryptionFromConfig(config, { logger, metrics });
  if (encryption) process.on("SIGHUP", () => encryption.reloadPolicy());
  const gateway = await startGateway(config, { logger, metrics, pgHooks: encryption?.hooks });
  for (const l of gateway.listeners) {
    const a = l.address();
    const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
    process.stdout.write(`smgate: ${l.protocol} listening on ${host}:${a.port}\n`);
  }
  let metricsListener: MetricsListener | undefined;
  if (config.metrics) {
    metricsListener = await startMetricsListener(parseHostPort(config.metrics.listen), metrics);
    const a = metricsListener.address();
    process.stdout.write(`smgate: metrics listening on ${a.host}:${a.port}\n`);
  }
  const deadline = Number(opts.shutdownTimeout);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, deadlineMs: deadline }, "shutting down");
    Promise.all([gateway.shutdown(deadline), metricsListener?.close()]).then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (e: Error) => {
        logger.error({ err: e.message }, "shutdown failed");
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
    .option("--shutdown-timeout <ms>", "graceful shutdown deadline in milliseconds", "10000")
    .option("--log-level <level>", "override log.level from the config (fatal|error|warn|info|debug|trace|silent)")
    .action(async (opts: StartOptions) => {
      await runStart(opts);
    });
}
