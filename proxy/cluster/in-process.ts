// The Fleet of `smgate start --workers 1`: the listeners run in this very process (no node:cluster), with
// the same runtime a cluster worker uses, so reload, metrics and drain behave the same way.
import type { AuditSink } from "../../audit/writer.js";
import type { SmgateConfig } from "../../policy/config.js";
import type { Logger } from "../log.js";
import type { GatewayMetrics } from "../metrics.js";
import type { Fleet, FleetReloadResult, WorkerStatus } from "./fleet.js";
import type { ListenerAddress, PolicyText } from "./messages.js";
import { startWorkerRuntime, type WorkerRuntime } from "./worker-runtime.js";

export class InProcessFleet implements Fleet {
  private runtime: WorkerRuntime | undefined;
  private state: WorkerStatus["state"] = "starting";
  private startedAt: string | undefined;

  constructor(
    private readonly o: {
      config: SmgateConfig;
      configFile: string;
      logger: Logger;
      metrics: GatewayMetrics;
      audit?: AuditSink;
    },
  ) {}

  async start(policy: PolicyText): Promise<ListenerAddress[]> {
    this.runtime = await startWorkerRuntime({
      ...this.o,
      policy,
      slot: 0,
      observe: this.o.config.metrics !== undefined || this.o.audit !== undefined,
    });
    this.state = "ready";
    this.startedAt = new Date().toISOString();
    return this.runtime.listeners;
  }

  async reload(policy: PolicyText): Promise<FleetReloadResult> {
    const r = this.runtime ? this.runtime.applyPolicy(policy) : { ok: false, problems: ["the gateway is not running"] };
    const ok = r.ok && r.digest === policy.digest;
    return { ok, workers: [{ slot: 0, pid: process.pid, ...r, ok }] };
  }

  metrics(): Promise<{ contentType: string; body: string }> {
    return this.o.metrics.render();
  }

  status(): WorkerStatus[] {
    return [
      {
        slot: 0,
        pid: process.pid,
        state: this.state,
        digest: this.runtime?.digest(),
        restarts: 0,
        startedAt: this.startedAt,
      },
    ];
  }

  async drain(deadlineMs: number): Promise<void> {
    this.state = "draining";
    await this.runtime?.shutdown(deadlineMs);
    this.state = "stopped";
  }
}
