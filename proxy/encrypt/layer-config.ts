// What building an encryption layer from smgate.yaml takes for either dialect (`smgate start`): the policy
// (loaded, or the caller's shared PolicyHolder), the keystore's key ring and the audit log when configured;
// and, once the dialect's layer is built, the SIGHUP policy reload (metrics, audit, logs) and a close that
// also closes the audit log opened here.
import { auditKeyFrom } from "../../audit/chain.js";
import { type AuditSink, AuditWriter } from "../../audit/writer.js";
import type { KeyRing } from "../../keystore/keyring.js";
import { openKeyStore } from "../../keystore/open.js";
import type { SmgateConfig } from "../../policy/config.js";
import { PolicyHolder } from "../../policy/holder.js";
import type { Logger } from "../log.js";
import type { GatewayMetrics } from "../metrics.js";

export interface LayerConfigOptions {
  logger: Logger;
  metrics?: GatewayMetrics;
  env?: NodeJS.ProcessEnv;
  /** audit sink to use instead of opening config.audit.path (cluster workers forward to the primary) */
  audit?: AuditSink;
  /**
   * policy to use instead of loading config.policy (shared between the PostgreSQL and MySQL listeners;
   * cluster workers get the primary's validated text)
   */
  policy?: PolicyHolder;
}

/** What a configured layer adds to the dialect's layer. */
export interface ConfiguredLayer {
  policy: PolicyHolder;
  /** Re-reads the policy file (SIGHUP); an invalid file keeps the old policy and is logged. */
  reloadPolicy(): void;
}

export interface LayerInputs {
  env: NodeJS.ProcessEnv;
  policy: PolicyHolder;
  keyRing: KeyRing;
  /** the caller's sink, else the audit log opened here (undefined: no audit configured or not openable) */
  audit: AuditSink | undefined;
  /** the audit log opened here (closed with the layer) */
  writer: AuditWriter | undefined;
}

/**
 * Loads the policy, opens the keystore and the audit log. Undefined (logged) when the policy protects no
 * table: `listener` ("PostgreSQL", "MySQL") then runs without the encryption layer.
 */
export async function openLayerInputs(
  config: SmgateConfig,
  opts: LayerConfigOptions,
  listener: string,
): Promise<LayerInputs | undefined> {
  const env = opts.env ?? process.env;
  const policy = opts.policy ?? PolicyHolder.fromConfig(config);
  if (policy.current().protectedTables().size === 0) {
    opts.logger.info(`policy protects no table: ${listener} listener runs without the encryption layer`);
    return undefined;
  }
  const keystore = await openKeyStore(config.keystore);
  const keyRing = keystore.keyRing();
  let writer: AuditWriter | undefined;
  if (config.audit && !opts.audit) {
    try {
      writer = new AuditWriter(config.audit.path, auditKeyFrom(keyRing));
    } catch (e) {
      opts.logger.warn({ err: (e as Error).message }, "audit log not opened (no audit key in the keystore?)");
    }
  }
  return { env, policy, keyRing, audit: opts.audit ?? writer, writer };
}

/** The dialect's layer with policy reload, and a close that also closes the audit log opened for it. */
export function withPolicyReload<L extends { close(): void }>(
  layer: L,
  inputs: LayerInputs,
  opts: LayerConfigOptions,
): L & ConfiguredLayer {
  const { policy, audit, writer } = inputs;
  return {
    ...layer,
    policy,
    reloadPolicy() {
      const r = policy.reloadFromFile();
      if (r.ok) {
        opts.metrics?.policyReloads.inc({ result: "ok" });
        audit?.record({ type: "policy_change", action: "reload", outcome: "ok", detail: r.digest });
        opts.logger.info({ generation: r.generation }, "policy reloaded");
      } else {
        opts.metrics?.policyReloads.inc({ result: "rejected" });
        audit?.record({ type: "policy_reload_failed", action: "reload", outcome: "failed" });
        opts.logger.warn({ problems: r.problems.length }, "policy reload rejected; previous policy stays in force");
      }
    },
    close() {
      layer.close();
      writer?.close();
    },
  };
}
