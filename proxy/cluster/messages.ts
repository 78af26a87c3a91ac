// The IPC protocol between the `smgate start` primary and its node:cluster workers. Every message carries a
// `smgate` tag so prom-client's and node's own cluster messages are never mistaken for ours. Policies travel
// as text (plus detached signature) already validated by the primary, so every worker compiles the same bytes.
import type { AuditEvent } from "../../audit/record.js";

/** The policy a worker must run: the file's text as validated by the primary. */
export interface PolicyText {
  file: string;
  text: string;
  sigText?: string;
  /** SM3 hex of text: the policy version every worker confirms */
  digest: string;
}

export interface ListenerAddress {
  protocol: string;
  host: string;
  port: number;
}

/** What a worker reports about its policy after a reload attempt. */
export interface WorkerReloadResult {
  ok: boolean;
  digest?: string;
  generation?: number;
  problems?: string[];
}

export type PrimaryToWorker =
  | { smgate: "init"; slot: number; policy: PolicyText }
  | { smgate: "reload"; id: number; policy: PolicyText }
  | { smgate: "metrics"; id: number }
  | { smgate: "drain"; deadlineMs: number };

export type WorkerToPrimary =
  | { smgate: "want-init" }
  | { smgate: "ready"; listeners: ListenerAddress[]; digest: string }
  | { smgate: "start-failed"; error: string }
  | { smgate: "reloaded"; id: number; result: WorkerReloadResult }
  | { smgate: "metrics"; id: number; metrics: unknown[] }
  | { smgate: "audit"; event: AuditEvent }
  | { smgate: "drained" };

function tagged(m: unknown): m is { smgate: string } {
  return typeof m === "object" && m !== null && typeof (m as { smgate?: unknown }).smgate === "string";
}

export function isPrimaryMessage(m: unknown): m is PrimaryToWorker {
  return tagged(m);
}

export function isWorkerMessage(m: unknown): m is WorkerToPrimary {
  return tagged(m);
}
