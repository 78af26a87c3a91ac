// The MySQL encryption layer's process-wide state: the shared runtime core (policy in force, generations,
// key ring, codecs) plus the server's catalog snapshot and the rewrite engine over it (shape cache). Sessions
// compare `generation` to notice policy or catalog changes.
import type { StoredForm } from "../../codec/stored-form.js";
import type { EncryptionLayerOptions } from "../../encrypt/layer.js";
import { EncryptionRuntimeCore } from "../../encrypt/runtime-core.js";
import type { InputColumn, TransformEnv } from "../../encrypt/value-transforms.js";
import type { DialectAdapter } from "../../rewrite/dialect.js";
import type { RewriteEngine } from "../../rewrite/engine.js";
import type { MysqlCatalog } from "./catalog.js";
import type { CatalogSource } from "./catalog-source.js";
import { storedFormOf } from "./mysql-types.js";

export interface EngineState {
  engine: RewriteEngine;
  /** undefined: the catalog could not be loaded (protected tables are refused by the engine, fail closed) */
  catalog: MysqlCatalog | undefined;
}

export interface MysqlEncryptionRuntimeOptions extends EncryptionLayerOptions {
  adapter: DialectAdapter;
  catalogs: CatalogSource;
}

export class MysqlEncryptionRuntime extends EncryptionRuntimeCore {
  readonly catalogs: CatalogSource;
  private state: EngineState | undefined;

  constructor(opts: MysqlEncryptionRuntimeOptions) {
    super({ ...opts, logPrefix: "mysql encryption layer" });
    this.catalogs = opts.catalogs;
  }

  protected dropEngines(): void {
    this.state = undefined;
  }

  protected refreshCatalogs(): void {
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
      this.state = { catalog, engine: this.newEngine(catalog?.schema) };
    }
    return this.state;
  }

  /** The neutral value transforms' view: stored forms follow the catalog type of the receiving column. */
  transformEnv(catalog: MysqlCatalog | undefined): TransformEnv {
    if (catalog === undefined) return (this.envNoCatalog ??= this.newTransformEnv(undefined));
    let env = this.envs.get(catalog);
    if (env === undefined) {
      env = this.newTransformEnv(catalog);
      this.envs.set(catalog, env);
    }
    return env;
  }

  /** transformEnv per catalog snapshot (an env holds nothing the policy decides: codecs are looked up per call). */
  private readonly envs = new WeakMap<MysqlCatalog, TransformEnv>();
  private envNoCatalog: TransformEnv | undefined;

  private newTransformEnv(catalog: MysqlCatalog | undefined): TransformEnv {
    return {
      codec: (p) => this.codec(p),
      metrics: this.metrics,
      storedForm: (c: InputColumn): StoredForm => storedFormOf(catalog?.columnType(c.schema, c.table, c.column)),
    };
  }
}
