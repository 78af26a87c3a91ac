// Policy reload for `smgate start` (SIGHUP, POST /reload, PUT /policy): reads and validates policy.yaml in the
// primary — a broken file is refused with file:line:col and changes nothing anywhere — checks the gateway
// can serve it (servable.ts), then has every worker apply the same text and reports success only when all
// of them confirmed its digest. Reloads are serialised; each outcome is logged, counted and audited.
import type { AuditSink } from "../../audit/writer.js";
import type { SmgateConfig } from "../../policy/config.js";
import type { Logger } from "../log.js";
import type { GatewayMetrics } from "../metrics.js";
import type { Fleet, WorkerReport } from "./fleet.js";
import type { PolicyText } from "./messages.js";
import { readPolicy } from "./policy-source.js";
import { policyNotServable } from "./servable.js";

export interface ReloadReport {
  ok: boolean;
  /** cluster-wide policy generation (starts at 1, +1 per applied reload) */
  generation: number;
  digest?: string;
  problems?: string[];
  workers?: WorkerReport[];
}

export class PolicyReloader {
  private gen = 1;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly o: {
      config: SmgateConfig;
      configFile: string;
      fleet: Fleet;
      /** whether the workers run the encryption layers (the first policy protected tables) */
      encryption: boolean;
      current: PolicyText;
      logger: Logger;
      metrics: GatewayMetrics;
      audit?: AuditSink;
    },
  ) {}

  get current(): PolicyText {
    return this.o.current;
  }

  get generation(): number {
    return this.gen;
  }

  /** Re-reads the policy file and applies it everywhere (one reload at a time). */
  reload(actor: string): Promise<ReloadReport> {
    const next = this.chain.then(() => this.reloadNow(actor));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private refuse(actor: string, problems: string[]): ReloadReport {
    const { metrics, audit, logger, config } = this.o;
    metrics.policyReloads.inc({ result: "rejected" });
    audit?.record({
      type: "policy_reload_failed",
      actor,
      target: config.policy,
      action: "reload",
      outcome: "refused",
      detail: `${problems.length} problem(s); first: ${problems[0] ?? "?"}`.slice(0, 500),
    });
    logger.warn({ problems }, "policy reload refused; the previous policy stays in force everywhere");
    return { ok: false, generation: this.gen, problems };
  }

  private async reloadNow(actor: string): Promise<ReloadReport> {
    const { config, configFile, fleet, metrics, audit, logger } = this.o;
    const read = readPolicy(config);
    if (!read.ok) return this.refuse(actor, read.problems);
    const why = policyNotServable(config, this.o.encryption, read.compiled, read.policy.file);
    if (why) return this.refuse(actor, [why]);
    const r = await fleet.reload(read.policy);
    this.o.current = read.policy;
    this.gen++;
    const failed = r.workers.filter((w) => !w.ok);
    metrics.policyReloads.inc({ result: r.ok ? "ok" : "partial" });
    audit?.record({
      type: "policy_change",
      actor,
      target: config.policy,
      action: "reload",
      outcome: r.ok ? "ok" : "failed",
      detail: r.ok
        ? `sm3 ${read.policy.digest}; ${r.workers.length} worker(s) confirmed`
        : `sm3 ${read.policy.digest}; worker(s) ${failed.map((w) => w.slot).join(",")} kept their previous policy`,
    });
    if (r.ok) logger.info({ generation: this.gen, workers: r.workers.length }, "policy reloaded in every worker");
    else
      logger.error(
        { failed: failed.map((w) => ({ slot: w.slot, problems: w.problems })) },
        "policy reload failed in some workers",
      );
    return {
      ok: r.ok,
      generation: this.gen,
      digest: read.policy.digest,
      workers: r.workers,
      problems: r.ok ? undefined : failed.flatMap((w) => (w.problems ?? []).map((p) => `worker ${w.slot}: ${p}`)),
    };
  }
}
