// The gateway's Prometheus registry (prom-client). Labels carry names only — protocol, table.column, key
// name, outcome — never values. Each process (cluster worker) owns one registry labelled worker="<slot>";
// the primary aggregates them (prom-client AggregatorRegistry) and the metrics listener serves the result.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type Protocol = "pg" | "mysql";
/** forwarded: passed on to the server (the server's own errors are its business); refused/denied: by smgate. */
export type StatementOutcome = "ok" | "error" | "forwarded" | "refused" | "denied";
export type FieldAction = "encrypted" | "decrypted" | "masked" | "ciphertext" | "mac_written" | "mac_verified";

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({
    name: "smgate_client_connections",
    help: "Open client connections",
    labelNames: ["protocol"],
    registers: [this.registry],
  });
  readonly connectionsTotal = new Counter({
    name: "smgate_client_connections_total",
    help: "Client connections accepted",
    labelNames: ["protocol"],
    registers: [this.registry],
  });
  readonly statements = new Counter({
    name: "smgate_statements_total",
    help: "Statements handled, by kind (select, insert, …) and outcome",
    labelNames: ["protocol", "kind", "outcome"],
    registers: [this.registry],
  });
  readonly shapeCache = new Counter({
    name: "smgate_shape_cache_total",
    help: "Statement-shape cache lookups by result (hit, miss, bypass)",
    labelNames: ["result"],
    registers: [this.registry],
  });
  readonly fields = new Counter({
    name: "smgate_fields_total",
    help: "Protected field values transformed, per table.column and action",
    labelNames: ["column", "action"],
    registers: [this.registry],
  });
  readonly denials = new Counter({
    name: "smgate_denials_total",
    help: "Statements denied by the access policy, per table and operation",
    labelNames: ["table", "operation"],
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: "smgate_refusals_total",
    help: "Statements refused as unsupported or unanalysable on protected data",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  readonly integrityFailures = new Counter({
    name: "smgate_integrity_failures_total",
    help: "Integrity check failures (bad tag, bad SIV, MAC mismatch), per table.column",
    labelNames: ["column"],
    registers: [this.registry],
  });
  readonly keyUnavailable = new Counter({
    name: "smgate_key_unavailable_total",
    help: "Statements refused because a key was unknown, destroyed or not loaded",
    labelNames: ["key"],
    registers: [this.registry],
  });
  readonly keyUse = new Counter({
    name: "smgate_key_use_total",
    help: "Field operations per key name",
    labelNames: ["key", "operation"],
    registers: [this.registry],
  });
  readonly cryptoSeconds = new Histogram({
    name: "smgate_crypto_batch_seconds",
    help: "Time spent transforming one batch of values",
    labelNames: ["operation"],
    buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
    registers: [this.registry],
  });
  readonly backendSeconds = new Histogram({
    name: "smgate_backend_statement_seconds",
    help: "Time from forwarding a statement to the backend's completion",
    labelNames: ["protocol"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly statementBytes = new Counter({
    name: "smgate_statement_bytes_total",
    help: "Bytes of SQL text received from clients (to_server) and of result rows sent to them (to_client)",
    labelNames: ["protocol", "direction"],
    registers: [this.registry],
  });
  readonly workerRestarts = new Counter({
    name: "smgate_worker_restarts_total",
    help: "Cluster workers restarted after dying unexpectedly, per worker slot",
    labelNames: ["slot"],
    registers: [this.registry],
  });
  readonly policyReloads = new Counter({
    name: "smgate_policy_reloads_total",
    help: "Policy reload attempts by result",
    labelNames: ["result"],
    registers: [this.registry],
  });

  /** @param worker label every series with worker="<worker>" (cluster slot, or "primary") */
  constructor(opts: { defaultMetrics?: boolean; worker?: string } = {}) {
    if (opts.worker !== undefined) this.registry.setDefaultLabels({ worker: opts.worker });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "smgate_process_" });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
