// The encryption layer's process-wide state for PostgreSQL: the policy in force (hot-reloaded), the key
// ring, per-database catalogs and rewrite engines (shape caches), column codecs, metrics and audit. Sessions
// read it through `dbState()` and compare `generation` to notice policy or catalog changes.
import type { AuditSink } from "../../../audit/writer.js";
import type { KeyRing } from "../../../keystore/keyring.js";
import type { CompiledPolicy } from "../../../policy/compile.js";
import type { PolicyHolder } from "../../../policy/holder.js";
import type { ColumnProtection } from "../../../policy/policy-types.js";
import { ColumnCodec } from "../../codec/column-codec.js";
import type { Logger } from "../../log.js";
import type { GatewayMetrics } from "../../metrics.js";
import { InMemoryCatalog } from "../../rewrite/catalog.js";
import { RewriteEngine } from "../../rewrite/engine.js";
import { PostgresAdapter } from "../../rewrite/pg/adapter.js";
import type { PgCatalog } from "./catalog.js";
import type { CatalogSource } from "./catalog-source.js";

export interface DatabaseState {
  engine: RewriteEngine;
  /** undefined: the catalog could not be loaded (protected tables are refused by the engine, fail closed) */
  catalog: PgCatalog | undefined;
}

export interface EncryptionRuntimeOptions {
  policy: PolicyHolder;
  keyRing: KeyRing;
  catalogs: CatalogSource;
  metrics?: GatewayMetrics;
  audit?: AuditSink;
  logger?: Logger;
  /** shape cache entries per database (default 10,000) */
  cacheSize?: number;
}

const EMPTY_CATALOG = new InMemoryCatalog([]);

export class EncryptionRuntime {
  readonly adapter = new PostgresAdapter();
  readonly keyRing: KeyRing;
  readonly catalogs: CatalogSource;
  readonly metrics?: GatewayMetrics;
  readonly audit?: AuditSink;
  readonly logger?: Logger;
  private policyNow: CompiledPolicy;
  private readonly states = new Map<string, DatabaseState>();
  private readonly codecs = new Map<string, ColumnCodec>();
  /** Bumped on every policy reload or catalog change: sessions re-resolve their subject and plans. */
  generation = 1;
  /** Bumped only when the protection part of the policy changed (prepared plans must be re-checked). */
  protectionGeneration = 1;
  private protectionFingerprint: string;
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: EncryptionRuntimeOptions) {
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

  /** True when the policy protects at least one table (otherwise the hooks are not worth installing). */
  get protectsAnything(): boolean {
    return this.policyNow.protectedTables().size > 0;
  }

  private onPolicy(p: CompiledPolicy): void {
    this.policyNow = p;
    const fp = fingerprint(p);
    if (fp !== this.protectionFingerprint) {
      this.protectionFingerprint = fp;
      this.protectionGeneration++;
      this.codecs.clear();
    }
    this.states.clear(); // new engines: shape caches cleared, protected names recomputed
    this.generation++;
    this.logger?.info({ generation: this.generation }, "encryption layer: policy reloaded");
    // the new policy may protect tables the catalog snapshot has never been asked about: refresh
    void this.catalogs.refreshAll();
  }

  /** Called by the catalog source when a database's catalog was (re)loaded. */
  onCatalog(database: string): void {
    this.states.delete(database);
    this.generation++;
  }

  dbState(database: string): DatabaseState {
    let s = this.states.get(database);
    if (!s) {
      const catalog = this.catalogs.get(database);
      const p = this.policyNow;
      s = {
        catalog,
        engine: new RewriteEngine({
          adapter: this.adapter,
          catalog: catalog?.schema ?? EMPTY_CATALOG,
          protection: (st, col) => p.protection(st, col),
          protectedTables: p.protectedTables(),
          cacheSize: this.opts.cacheSize,
        }),
      };
      this.states.set(database, s);
    }
    return s;
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

  close(): void {
    this.unsubscribe();
  }
}

function fingerprint(p: CompiledPolicy): string {
  const tables = [...p.doc.tables.values()].map((t) => [t.name, t.rowKey, [...t.columns.entries()]]);
  return JSON.stringify(tables);
}
