// The encryption layer's process-wide state for PostgreSQL: the shared runtime core (policy in force,
// generations, key ring, codecs) plus per-database catalogs and rewrite engines (shape caches). Sessions read
// it through `dbState()` and compare `generation` to notice policy or catalog changes.
import type { EncryptionLayerOptions } from "../../encrypt/layer.js";
import { EncryptionRuntimeCore } from "../../encrypt/runtime-core.js";
import type { RewriteEngine } from "../../rewrite/engine.js";
import { PostgresAdapter } from "../../rewrite/pg/adapter.js";
import type { PgCatalog } from "./catalog.js";
import type { CatalogSource } from "./catalog-source.js";

export interface DatabaseState {
  engine: RewriteEngine;
  /** undefined: the catalog could not be loaded (protected tables are refused by the engine, fail closed) */
  catalog: PgCatalog | undefined;
}

export interface EncryptionRuntimeOptions extends EncryptionLayerOptions {
  catalogs: CatalogSource;
}

export class EncryptionRuntime extends EncryptionRuntimeCore<PostgresAdapter> {
  readonly catalogs: CatalogSource;
  private readonly states = new Map<string, DatabaseState>();

  constructor(opts: EncryptionRuntimeOptions) {
    super({ ...opts, adapter: new PostgresAdapter(), logPrefix: "encryption layer" });
    this.catalogs = opts.catalogs;
  }

  protected dropEngines(): void {
    this.states.clear();
  }

  protected refreshCatalogs(): void {
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
      s = { catalog, engine: this.newEngine(catalog?.schema) };
      this.states.set(database, s);
    }
    return s;
  }
}
