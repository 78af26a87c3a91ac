// The dialect-neutral part of an encryption layer's process-wide state: the policy in force (hot-reloaded
// through the PolicyHolder), the generation counters sessions compare, the key ring and the column codec
// cache, and rewrite engines built over a catalog snapshot. Each dialect's runtime extends it with how it
// keeps catalogs and engines (PostgreSQL: per database; MySQL: one snapshot of the server).
import type { AuditSink } from "../../audit/writer.js";
import type { KeyRing } from "../../keystore/keyring.js";
import type { CompiledPolicy } from "../../policy/compile.js";
import type { ColumnProtection } from "../../policy/policy-types.js";
import { ColumnCodec } from "../codec/column-codec.js";
import type { Logger } from "../log.js";
import type { GatewayMetrics } from "../metrics.js";
import { InMemoryCatalog, type SchemaCatalog } from "../rewrite/catalog.js";
import type { DialectAdapter } from "../rewrite/dialect.js";
import { RewriteEngine } from "../rewrite/engine.js";
import type { EncryptionLayerOptions } from "./layer.js";

export interface RuntimeCoreOptions<A extends DialectAdapter> extends EncryptionLayerOptions {
  adapter: A;
  /** log message prefix ("encryption layer", "mysql encryption layer") */
  logPrefix: string;
}

const EMPTY_CATALOG = new InMemoryCatalog([]);

export abstract class EncryptionRuntimeCore<A extends DialectAdapter = DialectAdapter> {
  readonly adapter: A;
  readonly keyRing: KeyRing;
  readonly metrics?: GatewayMetrics;
  readonly audit?: AuditSink;
  readonly logger?: Logger;
  private policyNow: CompiledPolicy;
  private readonly codecs = new Map<string, ColumnCodec>();
  /** Bumped on every policy reload or catalog change: sessions re-resolve their subject and plans. */
  generation = 1;
  /** Bumped only when the protection part of the policy changed (prepared plans must be re-checked). */
  protectionGeneration = 1;
  private protectionFingerprint: string;
  private readonly unsubscribe: () => void;
  private readonly cacheSize?: number;
  private readonly logPrefix: string;

  constructor(opts: RuntimeCoreOptions<A>) {
    this.adapter = opts.adapter;
    this.keyRing = opts.keyRing;
    this.metrics = opts.metrics;
    this.audit = opts.audit;
    this.logger = opts.logger;
    this.cacheSize = opts.cacheSize;
    this.logPrefix = opts.logPrefix;
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

  /** Drops every cached engine (new engines: shape caches cleared, protected names recomputed). */
  protected abstract dropEngines(): void;

  /** Reloads the catalog snapshots: the new policy may protect tables they have never been asked about. */
  protected abstract refreshCatalogs(): void;

  private onPolicy(p: CompiledPolicy): void {
    this.policyNow = p;
    const fp = fingerprint(p);
    if (fp !== this.protectionFingerprint) {
      this.protectionFingerprint = fp;
      this.protectionGeneration++;
      this.codecs.clear();
    }
    this.dropEngines();
    this.generation++;
    this.logger?.info({ generation: this.generation }, `${this.logPrefix}: policy reloaded`);
    this.refreshCatalogs();
  }

  /** A rewrite engine for the policy in force over a catalog (none loaded: an empty one, fail closed). */
  protected newEngine(catalog: SchemaCatalog | undefined): RewriteEngine {
    const p = this.policyNow;
    return new RewriteEngine({
      adapter: this.adapter,
      catalog: catalog ?? EMPTY_CATALOG,
      protection: (st, col) => p.protection(st, col),
      protectedTables: p.protectedTables(),
      cacheSize: this.cacheSize,
    });
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
