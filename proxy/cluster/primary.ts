// The node:cluster primary of `smgate start --workers N`: forks N workers (slot 0..N-1) that share the
// listen ports, hands each the validated policy text, restarts a worker that dies unexpectedly (exponential
// backoff, reset after a stable run), broadcasts reloads and collects every worker's confirmation,
// aggregates the workers' metrics with its own (prom-client AggregatorRegistry), writes the workers' audit
// events to the one audit chain, and drains all workers on shutdown.
import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry } from "prom-client";
import type { AuditSink } from "../../audit/writer.js";
import type { Logger } from "../log.js";
import type { GatewayMetrics } from "../metrics.js";
import type { Fleet, FleetReloadResult, WorkerReport, WorkerStatus } from "./fleet.js";
import {
  isWorkerMessage,
  type ListenerAddress,
  type PolicyText,
  type PrimaryToWorker,
  type WorkerReloadResult,
  type WorkerToPrimary,
} from "./messages.js";

export interface ClusterFleetOptions {
  workers: number;
  logger: Logger;
  /** the primary's own registry (labelled worker="primary"): restarts, reloads, process metrics */
  metrics: GatewayMetrics;
  audit?: AuditSink;
  /** reply timeouts (reload, metrics) */
  replyTimeoutMs?: number;
  /** first restart delay; doubles per consecutive quick death, at most maxBackoffMs */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** a worker that ran this long resets its backoff */
  stableMs?: number;
}

interface Slot {
  slot: number;
  worker: Worker | undefined;
  state: WorkerStatus["state"];
  digest: string | undefined;
  restarts: number;
  quickDeaths: number;
  startedAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

type Pending = { resolve: (m: WorkerToPrimary) => void; timer: NodeJS.Timeout };

export class ClusterFleet implements Fleet {
  private readonly slots: Slot[] = [];
  private policy: PolicyText | undefined;
  private stopping = false;
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private listeners: ListenerAddress[] | undefined;
  private firstStart: { resolve: (l: ListenerAddress[]) => void; reject: (e: Error) => void } | undefined;
  private readonly log: Logger;

  constructor(private readonly o: ClusterFleetOptions) {
    this.log = o.logger.child({ role: "primary" });
    for (let slot = 0; slot < o.workers; slot++) {
      this.slots.push({
        slot,
        worker: undefined,
        state: "stopped",
        digest: undefined,
        restarts: 0,
        quickDeaths: 0,
        startedAt: undefined,
        timer: undefined,
      });
    }
  }

  start(policy: PolicyText): Promise<ListenerAddress[]> {
    this.policy = policy;
    return new Promise((resolve, reject) => {
      this.firstStart = { resolve, reject };
      for (const s of this.slots) this.fork(s);
    });
  }

  private fork(s: Slot): void {
    s.timer = undefined;
    if (this.stopping) return;
    const w = cluster.fork({ SMGATE_WORKER_SLOT: String(s.slot) });
    s.worker = w;
    s.state = "starting";
    s.digest = undefined;
    s.startedAt = Date.now();
    w.on("message", (m: unknown) => {
      if (isWorkerMessage(m)) this.onMessage(s, w, m);
    });
    w.on("exit", (code, signal) => this.onExit(s, w, code, signal));
    w.on("error", (e: Error) => this.log.warn({ slot: s.slot, err: e.message }, "worker channel error"));
  }

  private send(w: Worker, m: PrimaryToWorker): void {
    try {
      // with a callback a closed channel is reported here instead of as an unhandled 'error' event
      w.send(m, undefined, (err) => {
        if (err) this.log.debug({ err: err.message }, "message to a worker not delivered");
      });
    } catch {
      // the exit handler deals with a dead worker
    }
  }

  private onMessage(s: Slot, w: Worker, m: WorkerToPrimary): void {
    if (s.worker !== w) return;
    switch (m.smgate) {
      case "want-init":
        if (this.policy) this.send(w, { smgate: "init", slot: s.slot, policy: this.policy });
        return;
      case "ready": {
        s.state = "ready";
        s.digest = m.digest;
        this.log.info({ slot: s.slot, pid: w.process.pid }, "worker ready");
        // a reload that happened while this worker was starting: bring it up to date
        if (this.policy && m.digest !== this.policy.digest) this.catchUp(s, w);
        if (!this.listeners) this.listeners = m.listeners;
        if (this.firstStart && this.slots.every((x) => x.state === "ready")) {
          this.firstStart.resolve(this.listeners);
          this.firstStart = undefined;
        }
        return;
      }
      case "start-failed":
        this.log.error({ slot: s.slot, err: m.error }, "worker failed to start");
        if (this.firstStart) {
          // a configuration problem: every worker would fail the same way, so fail the start
          const f = this.firstStart;
          this.firstStart = undefined;
          this.stopping = true;
          f.reject(new Error(m.error));
        }
        return;
      case "audit":
        this.o.audit?.record(m.event);
        return;
      case "reloaded":
      case "metrics": {
        const key = `${m.smgate}:${m.id}:${s.slot}`;
        const p = this.pending.get(key);
        if (p) {
          this.pending.delete(key);
          clearTimeout(p.timer);
          p.resolve(m);
        }
        return;
      }
      case "drained":
        s.state = "stopped";
        return;
    }
  }

  private onExit(s: Slot, w: Worker, code: number | null, signal: string | null): void {
    if (s.worker !== w) return;
    s.worker = undefined;
    s.digest = undefined;
    // answer this worker's outstanding requests as failed
    for (const [key, p] of this.pending) {
      if (key.endsWith(`:${s.slot}`)) {
        this.pending.delete(key);
        clearTimeout(p.timer);
        p.resolve({ smgate: "drained" });
      }
    }
    if (this.stopping) {
      s.state = "stopped";
      this.log.info({ slot: s.slot, code, signal }, "worker exited");
      return;
    }
    if (this.firstStart) {
      // died before the gateway ever served: do not loop on a broken configuration
      const f = this.firstStart;
      this.firstStart = undefined;
      this.stopping = true;
      f.reject(new Error(`worker ${s.slot} exited during start (code ${code}, signal ${signal})`));
      return;
    }
    const lived = Date.now() - (s.startedAt ?? Date.now());
    s.quickDeaths = lived >= (this.o.stableMs ?? 30_000) ? 0 : s.quickDeaths + 1;
    const delay = Math.min(
      this.o.maxBackoffMs ?? 30_000,
      (this.o.backoffMs ?? 250) * 2 ** Math.max(0, s.quickDeaths - 1),
    );
    s.restarts++;
    s.state = "restarting";
    this.o.metrics.workerRestarts.inc({ slot: String(s.slot) });
    this.log.error(
      { slot: s.slot, pid: w.process.pid, code, signal, livedMs: lived, restartInMs: delay, restarts: s.restarts },
      "worker died unexpectedly; restarting",
    );
    s.timer = setTimeout(() => this.fork(s), delay);
  }

  /** Sends a request to one worker and waits for its reply (undefined on timeout or worker exit). */
  private request<K extends "reloaded" | "metrics">(
    s: Slot,
    w: Worker,
    m: PrimaryToWorker & { id: number },
    reply: K,
  ): Promise<Extract<WorkerToPrimary, { smgate: K }> | undefined> {
    return new Promise((resolve) => {
      const key = `${reply}:${m.id}:${s.slot}`;
      const timer = setTimeout(() => {
        this.pending.delete(key);
        resolve(undefined);
      }, this.o.replyTimeoutMs ?? 60_000);
      this.pending.set(key, {
        timer,
        resolve: (r) => resolve(r.smgate === reply ? (r as Extract<WorkerToPrimary, { smgate: K }>) : undefined),
      });
      this.send(w, m);
    });
  }

  private async reloadOne(s: Slot, w: Worker, policy: PolicyText, id: number): Promise<WorkerReport> {
    const r = await this.request(s, w, { smgate: "reload", id, policy }, "reloaded");
    const result: WorkerReloadResult = r?.result ?? {
      ok: false,
      problems: ["no answer from the worker (it exited or timed out); it keeps or restarts with a whole policy"],
    };
    const ok = result.ok && result.digest === policy.digest;
    if (ok && s.worker === w) s.digest = result.digest;
    return { slot: s.slot, pid: w.process.pid ?? 0, ...result, ok };
  }

  private catchUp(s: Slot, w: Worker): void {
    const policy = this.policy;
    if (!policy) return;
    this.reloadOne(s, w, policy, this.nextId++).then((r) => {
      if (!r.ok) this.log.error({ slot: s.slot, problems: r.problems }, "worker could not catch up with the policy");
    });
  }

  async reload(policy: PolicyText): Promise<FleetReloadResult> {
    // workers forked from now on start with this policy; running ones are asked to switch
    this.policy = policy;
    const id = this.nextId++;
    const running = this.slots.filter((s) => s.state === "ready" && s.worker);
    const workers = await Promise.all(running.map((s) => this.reloadOne(s, s.worker as Worker, policy, id)));
    return { ok: workers.length > 0 && workers.every((w) => w.ok), workers };
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    const id = this.nextId++;
    const replies = await Promise.all(
      this.slots
        .filter((s) => s.state === "ready" && s.worker)
        .map((s) => this.request(s, s.worker as Worker, { smgate: "metrics", id }, "metrics")),
    );
    type MetricJson = Awaited<ReturnType<GatewayMetrics["registry"]["getMetricsAsJSON"]>>;
    const all: MetricJson[] = [await this.o.metrics.registry.getMetricsAsJSON()];
    for (const r of replies) if (r) all.push(r.metrics as MetricJson);
    const reg = AggregatorRegistry.aggregate(all);
    return { contentType: reg.contentType, body: await reg.metrics() };
  }

  status(): WorkerStatus[] {
    return this.slots.map((s) => ({
      slot: s.slot,
      pid: s.worker?.process.pid,
      state: s.state,
      digest: s.digest,
      restarts: s.restarts,
      startedAt: s.startedAt ? new Date(s.startedAt).toISOString() : undefined,
    }));
  }

  async drain(deadlineMs: number): Promise<void> {
    this.stopping = true;
    const exits: Promise<void>[] = [];
    for (const s of this.slots) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = undefined;
      const w = s.worker;
      if (!w) {
        s.state = "stopped";
        continue;
      }
      s.state = "draining";
      exits.push(
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          w.once("exit", () => resolve());
          // a worker that does not finish in time (deadline + grace) is killed
          setTimeout(() => {
            if (!w.isDead()) {
              this.log.warn({ slot: s.slot }, "worker did not drain in time; killing it");
              w.process.kill("SIGKILL");
            }
          }, deadlineMs + 5_000).unref();
        }),
      );
      this.send(w, { smgate: "drain", deadlineMs });
    }
    await Promise.all(exits);
  }
}
