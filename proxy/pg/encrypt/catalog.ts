// The database's table shapes as the encryption layer needs them: a rewrite-engine SchemaCatalog (schema.table
// → ordered columns with types) and the RowDescription map (table OID + attribute number → schema.table.column).
// Filled from one catalog query; the query runner is injected (a hidden query on the client's own session or
// a separate connection).
import { type CatalogTable, InMemoryCatalog } from "../../rewrite/catalog.js";

export const CATALOG_SQL = `SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS table, a.attnum::int4 AS attnum,
  a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
ORDER BY c.oid, a.attnum`;

export interface CatalogRow {
  oid: string | number;
  schema: string;
  table: string;
  attnum: number | string;
  column: string;
  type: string;
}

export interface ColumnOrigin {
  schema: string;
  table: string;
  column: string;
  /** "schema.table" lower-cased, as policy names it */
  schemaTable: string;
}

export class PgCatalog {
  readonly schema: InMemoryCatalog;
  private readonly byOid = new Map<number, Map<number, ColumnOrigin>>();
  readonly loadedAt = Date.now();

  constructor(rows: CatalogRow[]) {
    const tables = new Map<number, CatalogTable>();
    for (const r of rows) {
      const oid = Number(r.oid);
      const attnum = Number(r.attnum);
      let t = tables.get(oid);
      if (!t) {
        t = { schema: r.schema, name: r.table, columns: [] };
        tables.set(oid, t);
        this.byOid.set(oid, new Map());
      }
      t.columns.push({ name: r.column, type: r.type });
      this.byOid.get(oid)!.set(attnum, {
        schema: r.schema,
        table: r.table,
        column: r.column,
        schemaTable: `${r.schema}.${r.table}`.toLowerCase(),
      });
    }
    this.schema = new InMemoryCatalog([...tables.values()]);
  }

  /** The column a RowDescription field comes from (undefined for expressions or unknown tables). */
  origin(tableOid: number, attnum: number): ColumnOrigin | undefined {
    if (tableOid === 0) return undefined;
    return this.byOid.get(tableOid)?.get(attnum);
  }

  get tableCount(): number {
    return this.byOid.size;
  }
}

export async function loadPgCatalog(query: (sql: string) => Promise<CatalogRow[]>): Promise<PgCatalog> {
  return new PgCatalog(await query(CATALOG_SQL));
}
