// Field-level encryption for the MySQL/MariaDB gateway: builds the runtime (policy, key ring, the server's
// catalog, the rewrite engine with the MySQL dialect) and the MysqlHooksFactory the listener installs.
// `mysqlEncryptionFromConfig` (from-config.ts) is what `smgate start` calls.
import { type EncryptionLayer, type EncryptionLayerOptions, sharedLayerOptions } from "../../encrypt/layer.js";
import type { DialectAdapter } from "../../rewrite/dialect.js";
import { MysqlAdapter } from "../../rewrite/mysql/adapter.js";
import type { MysqlHooksFactory } from "../hooks.js";
import { type CatalogQuery, CatalogSource } from "./catalog-source.js";
import { MysqlEncryptionRuntime } from "./runtime.js";
import { MysqlEncryptionSession } from "./session-hooks.js";

export { type CatalogConnection, type CatalogQuery, CatalogSource, mysqlCatalogQuery } from "./catalog-source.js";
export { MysqlEncryptionRuntime } from "./runtime.js";
export { MysqlEncryptionSession } from "./session-hooks.js";

export interface MysqlEncryptionOptions extends EncryptionLayerOptions {
  /** runs the catalog query against the server (see mysqlCatalogQuery) */
  catalogQuery: CatalogQuery;
  /** the SQL dialect (default: the MySQL/MariaDB adapter of the rewrite engine) */
  adapter?: DialectAdapter;
}

export type MysqlEncryption = EncryptionLayer<MysqlHooksFactory, MysqlEncryptionRuntime>;

export async function createMysqlEncryption(opts: MysqlEncryptionOptions): Promise<MysqlEncryption> {
  let runtime: MysqlEncryptionRuntime | undefined;
  const catalogs = new CatalogSource(
    opts.catalogQuery,
    (cat) => {
      opts.logger?.info({ tables: cat.tableCount }, "mysql encryption layer: catalog loaded");
      runtime?.onCatalog();
    },
    (message) => opts.logger?.warn({ err: message }, "mysql encryption layer: catalog load failed"),
  );
  runtime = new MysqlEncryptionRuntime({
    ...sharedLayerOptions(opts),
    adapter: opts.adapter ?? new MysqlAdapter(),
    catalogs,
  });
  await runtime.adapter.init();
  await catalogs.ensure();
  const rt = runtime;
  return {
    runtime: rt,
    hooks: () => new MysqlEncryptionSession(rt),
    close: () => rt.close(),
  };
}
