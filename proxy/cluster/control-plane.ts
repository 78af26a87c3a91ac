// The primary side of `smgate start`: validates the policy once, opens the audit chain (its only writer) and
// the keystore for the admin API, starts the fleet (in-process or node:cluster workers), then the metrics
// listener and the admin API, and offers reload and stop to the command's signal handlers.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { auditKeyFrom } from "../../audit/chain.js";
import { AuditWriter } from "../../audit/writer.js";
import type { KeyStore } from "../../keystore/keystore.js";
import { openKeyStore } from "../../keystore/open.js";
import type { SmgateConfig } from "../../policy/config.js";
import { gatewayServices } from "../admin/gateway-services.js";
import { adminRoutes } from "../admin/routes.js";
import { type AdminServer, startAdminServer } from "../admin/server.js";
import type { Logger } from "../log.js";
import { GatewayMetrics } from "../metrics.js";
import { type MetricsListener, startMetricsListener } from "../metrics-listener.js";
import { parseHostPort } from "../server.js";
import type { Fleet } from "./fleet.js";
import { InProcessFleet } from "./in-process.js";
import type { ListenerAddress } from "./messages.js";
import { readPolicy } from "./policy-source.js";
import { ClusterFleet } from "./primary.js";
import { PolicyReloader, type ReloadReport } from "./reload.js";
import { startsEncryption } from "./servable.js";

export interface ControlPlaneOptions {
  config: SmgateConfig;
  configFile: string;
  logger: Logger;
  workers: number;
  /** prints one stable line for scripts ("smgate: pg listening on HOST:PORT") */
  announce: (line: string) => void;
}

export interface ControlPlane {
  readonly listeners: ListenerAddress[];
  reload(actor: string): Promise<ReloadReport>;
  /** Drains every worker (deadlineMs), closes the admin API and metrics listener, seals the audit log. */
  stop(deadlineMs: number, reason: string): Promise<void>;
}

function adminTls(config: SmgateConfig, file: string): { cert: Buffer; key: Buffer; ca: Buffer } {
  const t = config.admin?.tls;
  if (!t?.ca) {
    throw new Error(
      `${file}: admin needs tls: {cert, key, ca} (the admin API only accepts client certificates issued by ca)`,
    );
  }
  return { cert: readFileSync(t.cert), key: readFileSync(t.key), ca: readFileSync(t.ca) };
}

export async function startControlPlane(o: ControlPlaneOptions): Promise<ControlPlane> {
  const { config, configFile, logger, announce } = o;
  const read = readPolicy(config);
  if (!read.ok) throw new Error(`invalid policy: ${read.problems.length} problem(s)\n${read.problems.join("\n")}`);
  const tls = config.admin ? adminTls(config, configFile) : undefined;

  let keystore: KeyStore | undefined;
  let audit: AuditWriter | undefined;
  if (config.audit || config.admin) keystore = await openKeyStore(config.keystore);
  if (config.audit && keystore) {
    try {
      audit = new AuditWriter(config.audit.path, auditKeyFrom(keystore.keyRing()));
    } catch (e) {
      keystore.close();
      throw new Error(
        `${configFile}: audit.path is set but the audit log cannot be written (${(e as Error).message}); ` +
          'run "smgate keys init" to create the smgate.audit key',
      );
    }
  }

  const clustered = o.workers > 1;
  const metrics = new GatewayMetrics({ worker: clustered ? "primary" : "0" });
  const fleet: Fleet = clustered
    ? new ClusterFleet({ workers: o.workers, logger, metrics, audit })
    : new InProcessFleet({ config, configFile, logger, metrics, audit });
  let listeners: ListenerAddress[];
  try {
    listeners = await fleet.start(read.policy);
  } catch (e) {
    await fleet.drain(0).catch(() => undefined);
    audit?.close();
    keystore?.close();
    throw e;
  }
  for (const l of listeners) announce(`smgate: ${l.protocol} listening on ${l.host}:${l.port}`);

  const reloader = new PolicyReloader({
    config,
    configFile,
    fleet,
    encryption: startsEncryption(read.compiled),
    current: read.policy,
    logger,
    metrics,
    audit,
  });

  let draining = false;
  let metricsListener: MetricsListener | undefined;
  let admin: AdminServer | undefined;
  try {
    if (config.metrics) {
      metricsListener = await startMetricsListener(
        parseHostPort(config.metrics.listen),
        { render: () => fleet.metrics() },
        () => !draining,
      );
      const a = metricsListener.address();
      announce(`smgate: metrics listening on ${a.host}:${a.port}`);
    }
    if (config.admin && tls && keystore) {
      const { host, port } = parseHostPort(config.admin.listen);
      admin = await startAdminServer({
        host,
        port,
        tls,
        roles: config.admin.roles ?? {},
        audit,
        routes: adminRoutes(gatewayServices({ config, fleet, reloader, keystore, audit, startedAt: new Date() })),
      });
      const a = admin.address();
      announce(`smgate: admin listening on ${a.host}:${a.port}`);
    }
  } catch (e) {
    // e.g. the metrics or admin port is taken: do not leave workers serving without them
    await metricsListener?.close();
    await fleet.drain(0).catch(() => undefined);
    audit?.close();
    keystore?.close();
    throw e;
  }
  audit?.record({
    type: "startup",
    actor: "smgate",
    target: resolve(configFile),
    outcome: "ok",
    detail: `${o.workers} worker(s); policy sm3 ${read.policy.digest}`,
  });
  announce(`smgate: ready (${o.workers} worker${o.workers === 1 ? "" : "s"})`);
  logger.info({ workers: o.workers, listeners }, "smgate started");

  return {
    listeners,
    reload: (actor) => reloader.reload(actor),
    async stop(deadlineMs, reason) {
      draining = true;
      logger.info({ reason, deadlineMs }, "shutting down: draining workers");
      await fleet.drain(deadlineMs);
      await Promise.all([admin?.close(), metricsListener?.close()]);
      audit?.record({ type: "shutdown", actor: "smgate", action: reason, outcome: "ok" });
      audit?.close();
      keystore?.close();
    },
  };
}
