// The MySQL encryption layer's process-wide state: the policy in force (hot-reloaded), the key ring, the
// server's catalog snapshot and the rewrite engine over it (shape cache), column codecs, metrics and audit.
// Sessions compare `generation` to notice policy or catalog changes.
import type { AuditSink } from "../../../audit/writer.js";
import type { KeyRing } from "../../../keystore/keyring.js";
import type { CompiledPolicy } from "../../../policy/compile.js";
import type { PolicyHolder } from "../../../policy/holder.js";
import type { ColumnProtection } from "../../../policy/policy-types.js";
import { ColumnCodec } from "../../codec/column-codec.js";
import type { StoredForm } from "../../codec/stored-form.js";
import type { InputColumn, TransformEnv } from "../../encrypt/value-transforms.js";
import type { Logger } from "../../log.js";
import type { GatewayMetrics } from "../../metrics.js";
import { InMemoryCatalog } from "../../rewrite/catalog.js";
import type { DialectAdapter } from "../../rewrite/dialect.js";
import { RewriteEngine } from "../../rewrite/engine.js";
import type { MysqlCatalog } from "./catalog.js";
import type { CatalogSource } from "./catalog-source.js";
import { storedFormOf } from "./mysql-types.js";

export interface EngineState {
  engine: RewriteEngine;
  /** undefined: the catalog could not be loaded (protected tables are refused by the engine, fail closed) */
  catalog: MysqlCatalog | undefined;
}

export interface MysqlEncryptionRuntimeOptions {
  adapter: DialectAdapter;
  policy: PolicyHolder;
  keyRing: KeyRing;
  catalogs: CatalogSource;
  metrics?: GatewayMetrics;
  audit?: AuditSink;
  logger?: Logger;
  /** shape cache entries (default 10,000) */
  cacheSize?: number;
}

const EMPTY_CATALOG = new InMemoryCatalog([]);

export class MysqlEncryptionRuntime {
  readonly adapter: DialectAdapter;
  readonly keyRing: KeyRing;
  readonly catalogs: CatalogSource;
  readonly metrics?: GatewayMetrics;
  readonly audit?: AuditSink;
  readonly logger?: Logger;
  private policyNow: CompiledPolicy;
  private state: EngineState | undefined;
  private readonly codecs = new Map<string, ColumnCodec>();
  /** Bumped on every policy reload or catalog change: sessions re-resolve their subject and plans. */
  generation = 1;
  /** Bumped only when the protection part of the policy changed (prepared plans must be re-checked). */
  protectionGeneration = 1;
  private protectionFingerprint: string;
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: MysqlEncryptionRuntimeOptions) {
    this.adapter = opts.adapter;
    this.keyRing = opts.keyRing;
    this.catalogs = opts.catalogs;
    this.metrics = opts.metrics;
    this.audit = opts.audit;
    this.logger = opts.logger;
    this.policyNow = opts.policy.current();
    this.protectionFingerprint = fingerprint(this.policyNow);
    this.unsubscribe = opts.policy.onChange((p) => this.onPolicy(p));
  }

  get policy(): CompiledPolicy {
    return this.policyNow;
  }

  private onPolicy(p: CompiledPolicy): void {
    this.policyNow = p;
    const fp = fingerprint(p);
    if (fp !== this.protectionFingerprint) {
      this.protectionFingerprint = fp;
      this.protectionGeneration++;
      this.codecs.clear();
    }
    this.state = undefined; // a new engine: shape cache cleared, protected names recomputed
    this.generation++;
    this.logger?.info({ generation: this.generation }, "mysql encryption layer: policy reloaded");
    void this.catalogs.refresh();
  }

  /** Called by the catalog source when the catalog was (re)loaded. */
  onCatalog(): void {
    this.state = undefined;
    this.generation++;
  }

  engineState(): EngineState {
    if (!this.state) {
      const catalog = this.catalogs.get();
      const p = this.policyNow;
      this.state = {
        catalog,
        engine: new RewriteEngine({
          adapter: this.adapter,
          catalog: catalog?.schema ?? EMPTY_CATALOG,
          protection: (st, col) => p.protection(st, col),
          protectedTables: p.protectedTables(),
          cacheSize: this.opts.cacheSize,
        }),
      };
    }
    return this.state;
  }

  /** The (cached) codec of a protected column. */
  codec(protection: ColumnProtection): ColumnCodec {
    let c = this.codecs.get(protection.ad);
    if (!c || c.protection !== protection) {
      c = new ColumnCodec(protection, this.keyRing);
      this.codecs.set(protection.ad, c);
    }
    return c;
  }

  /** The neutral value transforms' view: stored forms follow the catalog type of the receiving column. */
  transformEnv(catalog: MysqlCatalog | undefined): TransformEnv {
    return {
      codec: (p) => this.codec(p),
      metrics: this.metrics,
      storedForm: (c: InputColumn): StoredForm => storedFormOf(catalog?.columnType(c.schema, c.table, c.column)),
    };
  }

  close(): void {
    this.unsubscribe();
  }
}

function fingerprint(p: CompiledPolicy): string {
  const tables = [...p.doc.tables.values()].map((t) => [t.name, t.rowKey, [...t.columns.entries()]]);
  return JSON.stringify(tables);
}
