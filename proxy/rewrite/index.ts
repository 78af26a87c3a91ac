// Public surface of the rewrite engine (dialect-neutral core + PostgreSQL and MySQL/MariaDB adapters).
//
// Gateway flow per statement:
//   const engine = new RewriteEngine({ adapter: new PostgresAdapter() /* await adapter.init() once */, catalog,
//     protection: (schemaTable, column) => policy.protection(schemaTable, column), protectedTables: policy.protectedTables() });
//   const a = engine.analyse(sql, { searchPath });           // cheap pre-check → shape cache → parse on miss
//   if (a.plan.refusal) → ErrorResponse(a.plan.refusal.sqlstate, a.plan.refusal.message)
//   if (a.plan.passthrough) → forward unchanged
//   params: a.plan.params[n-1].target → transform + column (key, ad) for $n
//   literals: engine.literalValues(sql, a) → plaintexts aligned with a.plan.literals → encrypt →
//   slots: a.plan.slots (blind index / MAC companions; ValueSource says which param/literal feeds them) →
//   engine.rewrite(sql, a, encryptedLiteralTexts, renderedSlots) → the statement to send (spliced, not regenerated)
//   results: a.plan.parts[i].resultColumns (source column per output, hidden = strip), macChecks, copy.columns
// Policy reload or catalog change → engine.clear().
export type { CatalogColumn, CatalogSpec, CatalogTable, SchemaCatalog, TableName } from "./catalog.js";
export { InMemoryCatalog, protectionOrigin } from "./catalog.js";
export type { DialectAdapter, ParsedText } from "./dialect.js";
export type { AnalysedStatement, RewriteEngineOptions, SessionInfo } from "./engine.js";
export { RewriteEngine } from "./engine.js";
export { isRewriteRefusal, RewriteRefusal, SqlParseError, UnsupportedNode } from "./errors.js";
export { MysqlAdapter } from "./mysql/adapter.js";
export { PostgresAdapter } from "./pg/adapter.js";
export type { ShapeKey } from "./shape-key.js";
export { applyRewrites, literalTokens, type RewriteValues } from "./splice.js";
export type * from "./types.js";
