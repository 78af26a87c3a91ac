// The options both dialects' encryption layers are built from (createPgEncryption / createMysqlEncryption add
// their catalog query on top) and the bundle they return: the session hooks factory, the runtime, and close.
import type { AuditSink } from "../../audit/writer.js";
import type { KeyRing } from "../../keystore/keyring.js";
import type { PolicyHolder } from "../../policy/holder.js";
import type { Logger } from "../log.js";
import type { GatewayMetrics } from "../metrics.js";

export interface EncryptionLayerOptions {
  policy: PolicyHolder;
  keyRing: KeyRing;
  metrics?: GatewayMetrics;
  audit?: AuditSink;
  logger?: Logger;
  /** shape cache entries per rewrite engine (default 10,000) */
  cacheSize?: number;
}

export interface EncryptionLayer<Hooks, Runtime> {
  hooks: Hooks;
  runtime: Runtime;
  close(): void;
}

/** The shared options out of a dialect's options (the dialect-only ones stay with the dialect). */
export function sharedLayerOptions(o: EncryptionLayerOptions): EncryptionLayerOptions {
  return {
    policy: o.policy,
    keyRing: o.keyRing,
    metrics: o.metrics,
    audit: o.audit,
    logger: o.logger,
    cacheSize: o.cacheSize,
  };
}
