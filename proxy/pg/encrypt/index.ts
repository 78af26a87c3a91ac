// Field-level encryption for the PostgreSQL gateway: builds the runtime (policy, key ring, catalogs,
// engines) and the HooksFactory the listener installs. `createPgEncryption` is what `smgate start` calls.
import { type EncryptionLayer, type EncryptionLayerOptions, sharedLayerOptions } from "../../encrypt/layer.js";
import type { HooksFactory } from "../hooks.js";
import { type CatalogQuery, CatalogSource } from "./catalog-source.js";
import { EncryptionRuntime } from "./runtime.js";
import { EncryptionSession } from "./session-hooks.js";

export { type CatalogConnection, type CatalogQuery, CatalogSource, pgCatalogQuery } from "./catalog-source.js";
export { EncryptionRuntime } from "./runtime.js";
export { EncryptionSession } from "./session-hooks.js";

export interface PgEncryptionOptions extends EncryptionLayerOptions {
  /** runs the catalog query against a database (see pgCatalogQuery) */
  catalogQuery: CatalogQuery;
  /** databases whose catalog is loaded before the gateway accepts connections */
  preload?: string[];
}

export type PgEncryption = EncryptionLayer<HooksFactory, EncryptionRuntime>;

export async function createPgEncryption(opts: PgEncryptionOptions): Promise<PgEncryption> {
  let runtime: EncryptionRuntime | undefined;
  const catalogs = new CatalogSource(
    opts.catalogQuery,
    (db, cat) => {
      opts.logger?.info({ database: db, tables: cat.tableCount }, "encryption layer: catalog loaded");
      runtime?.onCatalog(db);
    },
    (db, message) => opts.logger?.warn({ database: db, err: message }, "encryption layer: catalog load failed"),
  );
  runtime = new EncryptionRuntime({ ...sharedLayerOptions(opts), catalogs });
  await runtime.adapter.init();
  await Promise.all((opts.preload ?? []).map((db) => catalogs.ensure(db)));
  const rt = runtime;
  return {
    runtime: rt,
    hooks: (ctx) => new EncryptionSession(rt, ctx),
    close: () => rt.close(),
  };
}
