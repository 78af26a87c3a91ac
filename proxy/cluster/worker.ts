// A node:cluster worker of `smgate start`: asks the primary for its slot and the validated policy text, runs
// the listeners (worker-runtime.ts) on the shared ports, and answers the primary's reload, metrics and drain
// messages. Audit events go to the primary, the only writer of the audit chain. If the primary goes away
// the worker drains and exits.
import type { AuditSink } from "../../audit/writer.js";
import type { SmgateConfig } from "../../policy/config.js";
import type { Logger } from "../log.js";
import { GatewayMetrics } from "../metrics.js";
import { isPrimaryMessage, type PrimaryToWorker, type WorkerToPrimary } from "./messages.js";
import { startWorkerRuntime, type WorkerRuntime } from "./worker-runtime.js";

export interface ClusterWorkerOptions {
  config: SmgateConfig;
  configFile: string;
  logger: Logger;
  /** drain deadline when the primary disappears */
  shutdownTimeoutMs: number;
}

function send(m: WorkerToPrimary): void {
  try {
    process.send?.(m, undefined, undefined, () => {
      // undelivered (primary gone): the disconnect handler drains
    });
  } catch {
    // channel closed: the disconnect handler drains
  }
}

export function runClusterWorker(o: ClusterWorkerOptions): void {
  const slot = Number(process.env.SMGATE_WORKER_SLOT ?? "0");
  const logger = o.logger.child({ worker: slot });
  const metrics = new GatewayMetrics({ worker: String(slot) });
  const audit: AuditSink | undefined = o.config.audit
    ? { record: (event) => send({ smgate: "audit", event }) }
    : undefined;
  let runtime: WorkerRuntime | undefined;
  let draining = false;

  const drain = (deadlineMs: number, why: string) => {
    if (draining) return;
    draining = true;
    logger.info({ deadlineMs, why }, "worker draining");
    const done = (code: number) => {
      send({ smgate: "drained" });
      logger.flush();
      setTimeout(() => process.exit(code), 50).unref();
    };
    (runtime ? runtime.shutdown(deadlineMs) : Promise.resolve()).then(
      () => done(0),
      (e: Error) => {
        logger.error({ err: e.message }, "worker drain failed");
        done(1);
      },
    );
  };

  const handle = async (m: PrimaryToWorker) => {
    switch (m.smgate) {
      case "init":
        try {
          runtime = await startWorkerRuntime({
            config: o.config,
            configFile: o.configFile,
            policy: m.policy,
            slot,
            logger,
            metrics,
            audit,
            observe: o.config.metrics !== undefined || audit !== undefined,
          });
          send({ smgate: "ready", listeners: runtime.listeners, digest: runtime.digest() });
        } catch (e) {
          send({ smgate: "start-failed", error: (e as Error).message });
          logger.flush();
          setTimeout(() => process.exit(1), 50).unref();
        }
        return;
      case "reload": {
        const result = runtime ? runtime.applyPolicy(m.policy) : { ok: false, problems: ["worker is still starting"] };
        if (result.ok) logger.info({ generation: result.generation }, "policy applied");
        else logger.warn({ problems: result.problems?.length }, "policy not applied; previous policy stays in force");
        send({ smgate: "reloaded", id: m.id, result });
        return;
      }
      case "metrics":
        send({ smgate: "metrics", id: m.id, metrics: await metrics.registry.getMetricsAsJSON() });
        return;
      case "drain":
        drain(m.deadlineMs, "primary");
        return;
    }
  };

  process.on("message", (m: unknown) => {
    if (!isPrimaryMessage(m)) return;
    handle(m).catch((e: Error) => logger.error({ err: e.message }, "worker message failed"));
  });
  process.on("disconnect", () => drain(o.shutdownTimeoutMs, "primary went away"));
  // a signal to the whole process group: drain like the primary asks; SIGHUP is the primary's to coordinate
  process.on("SIGTERM", () => drain(o.shutdownTimeoutMs, "SIGTERM"));
  process.on("SIGINT", () => drain(o.shutdownTimeoutMs, "SIGINT"));
  process.on("SIGHUP", () => logger.debug("SIGHUP ignored in a worker: the primary coordinates reloads"));
  send({ smgate: "want-init" });
}
