// What the control plane of `smgate start` (reload, admin API, metrics, shutdown) needs from the processes
// that serve traffic: one in-process runtime (--workers 1) or a node:cluster of workers (primary.ts).
import type { ListenerAddress, PolicyText, WorkerReloadResult } from "./messages.js";

export interface WorkerReport extends WorkerReloadResult {
  slot: number;
  pid: number;
}

export interface FleetReloadResult {
  /** true only when every running worker confirmed the new policy digest */
  ok: boolean;
  workers: WorkerReport[];
}

export interface WorkerStatus {
  slot: number;
  pid: number | undefined;
  state: "starting" | "ready" | "restarting" | "draining" | "stopped";
  digest: string | undefined;
  restarts: number;
  startedAt: string | undefined;
}

export interface Fleet {
  /** Starts serving with this policy; resolves with the listeners once every worker is ready. */
  start(policy: PolicyText): Promise<ListenerAddress[]>;
  /** Applies an already-validated policy in every worker (each atomically: all of it, or it keeps its old one). */
  reload(policy: PolicyText): Promise<FleetReloadResult>;
  /** Prometheus text of all workers' registries (and the control plane's) as one exposition. */
  metrics(): Promise<{ contentType: string; body: string }>;
  status(): WorkerStatus[];
  /** Stops accepting, lets sessions finish their transaction up to deadlineMs, resolves when all are gone. */
  drain(deadlineMs: number): Promise<void>;
}
