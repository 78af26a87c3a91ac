// What one gateway process serves: the configured listeners with their encryption layer, session observer
// (metrics + login audit) and policy, built from the primary's validated policy text. Used in-process by
// `smgate start` with one worker, and by each node:cluster worker (worker.ts) otherwise.
import type { AuditSink } from "../../audit/writer.js";
import type { CompiledPolicy } from "../../policy/compile.js";
import type { SmgateConfig } from "../../policy/config.js";
import type { Logger } from "../log.js";
import type { GatewayMetrics } from "../metrics.js";
import { observeSessions } from "../metrics-hooks.js";
import { observeMysqlSessions } from "../metrics-hooks-mysql.js";
import { mysqlEncryptionFromConfig } from "../mysql/encrypt/from-config.js";
import { pgEncryptionFromConfig } from "../pg/encrypt/from-config.js";
import { type Gateway, startGateway } from "../server.js";
import type { ListenerAddress, PolicyText, WorkerReloadResult } from "./messages.js";
import { applyPolicyText, holderFromText, problemsOf, signatureOf } from "./policy-source.js";
import { policyNotServable } from "./servable.js";

export interface WorkerRuntimeOptions {
  config: SmgateConfig;
  configFile: string;
  policy: PolicyText;
  slot: number;
  logger: Logger;
  metrics: GatewayMetrics;
  audit?: AuditSink;
  /** observe sessions (metrics/login audit) even without an encryption layer */
  observe: boolean;
}

export interface WorkerRuntime {
  readonly listeners: ListenerAddress[];
  /** SM3 of the policy text in force */
  digest(): string;
  applyPolicy(p: PolicyText): WorkerReloadResult;
  shutdown(deadlineMs: number): Promise<void>;
}

export async function startWorkerRuntime(o: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  const { config, logger, metrics, audit } = o;
  const holder = holderFromText(o.policy, signatureOf(config));
  let digest = o.policy.digest;
  const enc = await pgEncryptionFromConfig(config, { logger, metrics, audit, policy: holder });
  let mysqlEnc: Awaited<ReturnType<typeof mysqlEncryptionFromConfig>>;
  try {
    mysqlEnc = await mysqlEncryptionFromConfig(config, { logger, metrics, audit, policy: holder });
  } catch (e) {
    enc?.close();
    throw e;
  }
  const close = () => {
    enc?.close();
    mysqlEnc?.close();
  };
  const pgHooks = o.observe || enc ? observeSessions(enc?.hooks, { metrics, audit }) : undefined;
  const mysqlHooks = o.observe || mysqlEnc ? observeMysqlSessions(mysqlEnc?.hooks, { metrics, audit }) : undefined;
  let gateway: Gateway;
  try {
    gateway = await startGateway(config, {
      logger,
      // per-command metrics keep MySQL sessions in JavaScript: only when something reads them
      metrics: o.observe ? metrics : undefined,
      pgHooks,
      mysqlHooks,
      workerIndex: o.slot,
    });
  } catch (e) {
    close();
    throw e;
  }
  const listeners = gateway.listeners.map((l) => {
    const a = l.address();
    return { protocol: l.protocol, host: a.family === "IPv6" ? `[${a.address}]` : a.address, port: a.port };
  });
  return {
    listeners,
    digest: () => digest,
    applyPolicy(p) {
      let next: CompiledPolicy;
      try {
        next = holderFromText(p, holder.signature).current();
      } catch (e) {
        return { ok: false, problems: problemsOf(e) };
      }
      // the primary checks this before broadcasting; repeated so a worker can never run a policy it cannot serve
      const why = policyNotServable(config, enc !== undefined || mysqlEnc !== undefined, next, p.file);
      if (why) return { ok: false, problems: [why] };
      const r = applyPolicyText(holder, p);
      if (!r.ok) return { ok: false, problems: r.problems };
      digest = r.digest;
      return { ok: true, digest: r.digest, generation: r.generation };
    },
    async shutdown(deadlineMs) {
      await gateway.shutdown(deadlineMs);
      close();
    },
  };
}
