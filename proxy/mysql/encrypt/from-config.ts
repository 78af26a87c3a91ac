// Builds the MySQL encryption layer from smgate.yaml for `smgate start` (mirrors the PostgreSQL one): opens
// the keystore, loads the policy (or takes the caller's shared PolicyHolder, so reloads reach both
// listeners), opens the audit log when configured, and connects the catalog loader to the configured backend
// (user SMGATE_MYSQL_CATALOG_USER, default "root"; password SMGATE_MYSQL_CATALOG_PASSWORD). Returns undefined
// when there is no mysql listener or the policy protects nothing (the gateway then stays a transparent relay).
import { auditKeyFrom } from "../../../audit/chain.js";
import { type AuditSink, AuditWriter } from "../../../audit/writer.js";
import { openKeyStore } from "../../../keystore/open.js";
import type { SmgateConfig } from "../../../policy/config.js";
import { PolicyHolder } from "../../../policy/holder.js";
import type { Logger } from "../../log.js";
import type { GatewayMetrics } from "../../metrics.js";
import { backendTarget } from "../../server.js";
import { mysqlCatalogQuery } from "./catalog-source.js";
import { createMysqlEncryption, type MysqlEncryption } from "./index.js";

export interface ConfiguredMysqlEncryption extends MysqlEncryption {
  policy: PolicyHolder;
  /** Re-reads the policy file (SIGHUP); an invalid file keeps the old policy and is logged. */
  reloadPolicy(): void;
}

export async function mysqlEncryptionFromConfig(
  config: SmgateConfig,
  opts: {
    logger: Logger;
    metrics?: GatewayMetrics;
    env?: NodeJS.ProcessEnv;
    /** audit sink to use instead of opening config.audit.path (cluster workers forward to the primary) */
    audit?: AuditSink;
    /** policy to use instead of loading config.policy (shared with the PostgreSQL listener / the primary) */
    policy?: PolicyHolder;
  },
): Promise<ConfiguredMysqlEncryption | undefined> {
  if (!config.mysql) return undefined;
  const env = opts.env ?? process.env;
  const policy = opts.policy ?? PolicyHolder.fromConfig(config);
  if (policy.current().protectedTables().size === 0) {
    opts.logger.info("policy protects no table: MySQL listener runs without the encryption layer");
    return undefined;
  }
  const keystore = await openKeyStore(config.keystore);
  const ring = keystore.keyRing();
  let writer: AuditWriter | undefined;
  if (config.audit && !opts.audit) {
    try {
      writer = new AuditWriter(config.audit.path, auditKeyFrom(ring));
    } catch (e) {
      opts.logger.warn({ err: (e as Error).message }, "audit log not opened (no audit key in the keystore?)");
    }
  }
  const audit: AuditSink | undefined = opts.audit ?? writer;
  const target = backendTarget(config.mysql);
  const enc = await createMysqlEncryption({
    policy,
    keyRing: ring,
    catalogQuery: mysqlCatalogQuery({
      host: target.host,
      port: target.port,
      user: env.SMGATE_MYSQL_CATALOG_USER ?? "root",
      password: env.SMGATE_MYSQL_CATALOG_PASSWORD,
      ssl: target.tls
        ? {
            ca: target.tls.ca as string | Buffer | undefined,
            rejectUnauthorized: target.tls.rejectUnauthorized,
          }
        : undefined,
    }),
    metrics: opts.metrics,
    audit,
    logger: opts.logger,
  });
  return {
    ...enc,
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
      enc.close();
      writer?.close();
    },
  };
}
