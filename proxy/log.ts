// Gateway logging: one pino logger per process, child loggers per listener/session.
// Rule: never log SQL text, parameter values, row data, passwords or key material — only identifiers,
// sizes, SQLSTATE codes and connection metadata.
import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Write to this destination (file descriptor or path); default stderr so stdout stays free for tools. */
  destination?: number | string;
}

let root: Logger | undefined;

export function createLogger(opts: LogOptions = {}): Logger {
  const options: LoggerOptions = {
    name: "smgate",
    level: opts.level ?? process.env.SMGATE_LOG_LEVEL ?? "info",
    base: { pid: process.pid },
    redact: { paths: ["password", "sql", "params", "row", "*.password", "*.sql", "*.params"], censor: "[redacted]" },
  };
  return pino(options, pino.destination({ dest: opts.destination ?? 2, sync: false }));
}

/** The process-wide logger (created on first use). */
export function rootLogger(): Logger {
  if (!root) root = createLogger();
  return root;
}

/** Replace the process-wide logger (tests use a silent one; `smgate start` sets the level). */
export function setRootLogger(logger: Logger): void {
  root = logger;
}
