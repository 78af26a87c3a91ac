// The gateway process's listeners: builds each configured protocol listener from smgate.yaml
// (SmgateConfig), starts them, and shuts them all down gracefully. New protocols (MySQL, TDS) add one
// entry to `buildListeners`; node:cluster workers pass their worker index and run the same code.
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { ConnectionOptions } from "node:tls";
import type { ListenerConfig, SmgateConfig } from "../policy/config.js";
import { type Logger, rootLogger } from "./log.js";
import type { GatewayMetrics } from "./metrics.js";
import { type MysqlHooksFactory, mysqlOptionsFromConfig, startMysqlGateway } from "./mysql/index.js";
import type { BackendTarget } from "./pg/backend-connect.js";
import { ClientTlsTerminator } from "./pg/client-tls.js";
import type { HooksFactory } from "./pg/hooks.js";
import { PgListener } from "./pg/listener.js";

/** What the gateway needs from smgate.yaml (a subset of SmgateConfig, so tests can pass literals). */
export type GatewayConfig = Pick<SmgateConfig, "pg" | "mysql" | "limits">;

export interface GatewayOptions {
  logger?: Logger;
  /** Hooks for PostgreSQL sessions (the encryption layer); none = transparent proxy. */
  pgHooks?: HooksFactory;
  /** Hooks for MySQL/MariaDB sessions (the encryption layer, when it exists); none = transparent proxy. */
  mysqlHooks?: MysqlHooksFactory;
  metrics?: GatewayMetrics;
  workerIndex?: number;
  authTimeoutMs?: number;
}

/** A started listener of any protocol. */
export interface GatewayListener {
  readonly protocol: string;
  address(): AddressInfo;
  shutdown(deadlineMs: number): Promise<void>;
}

export interface Gateway {
  readonly listeners: GatewayListener[];
  readonly pg?: PgListener;
  /** Stop accepting, let sessions finish their transaction up to deadlineMs, then close the rest. */
  shutdown(deadlineMs?: number): Promise<void>;
}

/** "host:port" / "[v6]:port" → parts. */
export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`invalid address "${s}": expected host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in "${s}"`);
  return { host: m[1] ?? m[2], port };
}

/** TLS offered to clients; with `ca`, client certificates are required and verified against it. */
function clientTls(l: ListenerConfig): ClientTlsTerminator | undefined {
  if (!l.tls) return undefined;
  return new ClientTlsTerminator({
    cert: readFileSync(l.tls.cert),
    key: readFileSync(l.tls.key),
    ca: l.tls.ca ? readFileSync(l.tls.ca) : undefined,
  });
}

export function backendTarget(l: ListenerConfig): BackendTarget {
  const { host, port } = parseHostPort(l.backend);
  const bt = l.backend_tls;
  if (!bt) return { host, port };
  const opts: ConnectionOptions = { rejectUnauthorized: true, minVersion: "TLSv1.2" };
  if (typeof bt === "object") {
    if (bt.ca) opts.ca = readFileSync(bt.ca);
    if (bt.reject_unauthorized !== undefined) opts.rejectUnauthorized = bt.reject_unauthorized;
    opts.servername = bt.servername ?? (/^[\d.]+$|:/.test(host) ? undefined : host);
  } else if (!/^[\d.]+$|:/.test(host)) opts.servername = host;
  return { host, port, tls: opts };
}

export async function startGateway(config: GatewayConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const logger = opts.logger ?? rootLogger();
  const listeners: GatewayListener[] = [];
  let pg: PgListener | undefined;
  if (config.pg) {
    const { host, port } = parseHostPort(config.pg.listen);
    pg = new PgListener({
      host,
      port,
      backend: backendTarget(config.pg),
      clientTls: clientTls(config.pg),
      maxConnections: config.limits.max_connections,
      maxMessageBytes: config.limits.max_message_bytes,
      statementTimeoutMs: config.limits.statement_timeout_ms,
      authTimeoutMs: opts.authTimeoutMs,
      hooks: opts.pgHooks,
      nativeRelay: config.pg.native_relay ?? true,
      logger,
      workerIndex: opts.workerIndex,
    });
    await pg.listen();
    const l = pg;
    listeners.push({ protocol: "pg", address: () => l.address(), shutdown: (d) => l.shutdown(d) });
  }
  if (config.mysql) {
    const my = await startMysqlGateway(
      mysqlOptionsFromConfig(config, {
        logger,
        hooks: opts.mysqlHooks,
        metrics: opts.metrics,
        workerIndex: opts.workerIndex,
        authTimeoutMs: opts.authTimeoutMs,
      }),
    );
    listeners.push({ protocol: "mysql", address: () => my.addressInfo(), shutdown: (d) => my.shutdown(d) });
  }
  return {
    listeners,
    pg,
    async shutdown(deadlineMs = 10_000) {
      await Promise.all(listeners.map((l) => l.shutdown(deadlineMs)));
    },
  };
}
