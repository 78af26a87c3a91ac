// The MySQL/MariaDB gateway listener: accepts client connections, enforces max_connections, assigns smgate's
// own connection ids (the KILL registry), builds TLS contexts for both legs from the configuration, and closes
// gracefully. `startMysqlGateway` is what `smgate start` calls for the `mysql:` listener.
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import pino, { type Logger } from "pino";
import type { ListenerConfig, SmgateConfig } from "../../policy/config.js";
import type { GatewayMetrics } from "../metrics.js";
import { MysqlConnection } from "./connection.js";
import { Err } from "./constants.js";
import type { MysqlHooksFactory } from "./hooks.js";
import type { ConnectionRegistry } from "./kill.js";
import { errPacket } from "./packets.js";

export interface MysqlGatewayOptions {
  /** "host:port" or parts; port 0 picks a free port. Default 127.0.0.1:3307. */
  listen?: string | { host: string; port: number };
  /** MySQL / MariaDB server, "host:port" or parts. */
  backend: string | { host: string; port: number };
  /**
   * TLS offered to clients: PEM contents (string/Buffer). CLIENT_SSL is advertised only when set. With `ca`,
   * clients must present a certificate signed by it (as for the PostgreSQL listener).
   */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  /** TLS to the server: true (system CAs, verify) or options; undefined/false = plain. */
  backendTls?: boolean | { ca?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
  /** Relay LOAD DATA LOCAL INFILE (default false: CLIENT_LOCAL_FILES stripped, requests refused). */
  allowLocalInfile?: boolean;
  /** Allow CLIENT_MULTI_STATEMENTS / COM_SET_OPTION multi-statements on (default false). */
  allowMultiStatements?: boolean;
  /** Default 1000. */
  maxConnections?: number;
  /** Largest packet smgate reassembles to inspect (default 64 MiB); forwarded packets are not limited. */
  maxMessageBytes?: number;
  connectTimeoutMs?: number;
  /** Handshake + authentication deadline per connection (default 10 s): slow clients get ERR 1159. */
  authTimeoutMs?: number;
  /** Per-session rewrite hooks (the encryption layer); none = transparent relay. */
  hooks?: MysqlHooksFactory;
  /** Hand sessions without hooks to the native relay between commands (default true; needs the addon). */
  nativeRelay?: boolean;
  logger?: Logger;
  /** Prometheus registry of the process (connections gauge / counter with protocol="mysql"). */
  metrics?: GatewayMetrics;
  /** node:cluster worker index (top 8 bits of smgate's connection ids); default: cluster.worker.id or 0. */
  workerIndex?: number;
}

export interface MysqlGateway {
  address(): { host: string; port: number };
  /** The listener's AddressInfo (what proxy/server.ts's GatewayListener.address() returns). */
  addressInfo(): net.AddressInfo;
  /** Stop accepting; end idle sessions at once, sessions in a transaction when it ends, the rest at the deadline. */
  shutdown(deadlineMs: number): Promise<void>;
  /** Stop accepting and end every session now. */
  close(): Promise<void>;
  /** Number of open client connections. */
  connections(): number;
}

function hostPort(v: string | { host: string; port: number }, what: string): { host: string; port: number } {
  if (typeof v !== "string") return v;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:]+)):(\d{1,5})$/.exec(v);
  if (!m) throw new Error(`invalid ${what} address "${v}" (expected host:port)`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

function backendTlsOptions(v: MysqlGatewayOptions["backendTls"], host: string): tls.ConnectionOptions | undefined {
  if (!v) return undefined;
  if (v === true) return { servername: net.isIP(host) ? undefined : host };
  return {
    ca: v.ca,
    rejectUnauthorized: v.rejectUnauthorized ?? true,
    servername: v.servername ?? (net.isIP(host) ? undefined : host),
  };
}

/** Gateway options from smgate.yaml's `mysql:` listener (reads the TLS files named there). */
export function mysqlOptionsFromConfig(
  cfg: Pick<SmgateConfig, "mysql" | "limits">,
  extra: Partial<MysqlGatewayOptions> = {},
): MysqlGatewayOptions {
  const l: ListenerConfig | undefined = cfg.mysql;
  if (!l) throw new Error("smgate.yaml has no mysql: listener");
  const bt = l.backend_tls;
  return {
    listen: l.listen,
    backend: l.backend,
    tls: l.tls
      ? {
          cert: readFileSync(l.tls.cert),
          key: readFileSync(l.tls.key),
          ca: l.tls.ca ? readFileSync(l.tls.ca) : undefined,
        }
      : undefined,
    backendTls:
      bt === undefined || bt === false
        ? undefined
        : bt === true
          ? true
          : {
              ca: bt.ca ? readFileSync(bt.ca) : undefined,
              rejectUnauthorized: bt.reject_unauthorized,
              servername: bt.servername,
            },
    nativeRelay: l.native_relay ?? true,
    maxConnections: cfg.limits.max_connections,
    maxMessageBytes: cfg.limits.max_message_bytes,
    ...extra,
  };
}

/** Connection ids: per-process counter; cluster workers get disjoint ranges (worker id in the top 8 bits). */
function idAllocator(workerIndex: number | undefined): () => number {
  const worker = (workerIndex ?? (cluster.isWorker && cluster.worker ? cluster.worker.id : 0)) & 0x7f;
  let next = 0;
  return () => {
    next = (next % 0xffffff) + 1;
    return ((worker << 24) | next) >>> 0;
  };
}

export async function startMysqlGateway(opts: MysqlGatewayOptions): Promise<MysqlGateway> {
  const log = opts.logger ?? pino({ name: "smgate-mysql" });
  const listen = hostPort(opts.listen ?? "127.0.0.1:3307", "listen");
  const backend = hostPort(opts.backend, "backend");
  const maxConnections = opts.maxConnections ?? 1000;
  const conns = new Map<number, MysqlConnection>();
  const registry: ConnectionRegistry = { backendThreadId: (id) => conns.get(id)?.backendThreadId };
  const nextId = idAllocator(opts.workerIndex);
  const settings = {
    backend,
    clientTls: opts.tls
      ? tls.createSecureContext({ cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca })
      : undefined,
    clientCertPems:
      opts.tls?.ca !== undefined ? { cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca } : undefined,
    backendTls: backendTlsOptions(opts.backendTls, backend.host),
    allowLocalInfile: opts.allowLocalInfile ?? false,
    allowMultiStatements: opts.allowMultiStatements ?? false,
    maxMessageBytes: opts.maxMessageBytes ?? 64 * 1024 * 1024,
    connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
    authTimeoutMs: opts.authTimeoutMs ?? 10_000,
    hooksFactory: opts.hooks,
    nativeRelay: opts.nativeRelay ?? true,
    observeBackendSeconds: opts.metrics
      ? (s: number) => opts.metrics?.backendSeconds.observe({ protocol: "mysql" }, s)
      : undefined,
  };

  const server = net.createServer((socket) => {
    if (conns.size >= maxConnections) {
      log.warn({ max: maxConnections }, "max_connections reached; refusing client");
      socket.on("error", () => {});
      socket.end(errPacket(Err.CON_COUNT, "smgate: too many connections", 0));
      return;
    }
    let id = nextId();
    while (conns.has(id)) id = nextId();
    try {
      const conn = new MysqlConnection(socket, id, log, registry, settings, (c) => {
        if (conns.delete(c.ctx.connectionId)) opts.metrics?.connections.dec({ protocol: "mysql" });
      });
      conns.set(id, conn);
      opts.metrics?.connections.inc({ protocol: "mysql" });
      opts.metrics?.connectionsTotal.inc({ protocol: "mysql" });
      conn.start();
    } catch (err) {
      log.error({ err: (err as Error).message }, "could not start connection");
      socket.destroy();
    }
  });
  server.on("error", (err) => log.error({ err: err.message }, "mysql listener error"));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as net.AddressInfo;
  log.info(
    { listen: `${addr.address}:${addr.port}`, backend: `${backend.host}:${backend.port}` },
    "mysql gateway listening",
  );

  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    address: () => ({ host: addr.address, port: addr.port }),
    addressInfo: () => addr,
    connections: () => conns.size,
    close: async () => {
      const closed = stopListening();
      for (const c of [...conns.values()]) c.destroy();
      await closed;
    },
    shutdown: async (deadlineMs: number) => {
      const closed = stopListening();
      for (const c of [...conns.values()]) c.beginShutdown();
      const until = Date.now() + deadlineMs;
      while (conns.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      for (const c of [...conns.values()]) c.destroy();
      log.info("mysql gateway stopped");
      await closed;
    },
  };
}
