// The MariaDB/MySQL server's table shapes as the encryption layer needs them: a rewrite-engine SchemaCatalog
// (database.table → ordered columns with their COLUMN_TYPE) and a lookup of a column's catalog type by the
// names a column definition carries (schema, org_table, org_name). One snapshot covers every user database
// of the server (statements may name other databases than the session's).
import { type CatalogTable, InMemoryCatalog } from "../../rewrite/catalog.js";

export const CATALOG_SQL = `SELECT TABLE_SCHEMA AS \`schema\`, TABLE_NAME AS \`table\`, COLUMN_NAME AS \`column\`,
  COLUMN_TYPE AS \`type\`
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`;

export interface CatalogRow {
  schema: string;
  table: string;
  column: string;
  type: string;
}

const key = (schema: string, table: string) => `${schema}\u0000${table}`;

export class MysqlCatalog {
  readonly schema: InMemoryCatalog;
  /** (schema, table) exact → column name lower-cased → catalog type */
  private readonly types = new Map<string, Map<string, string>>();
  readonly loadedAt = Date.now();

  constructor(rows: CatalogRow[]) {
    const tables = new Map<string, CatalogTable>();
    for (const r of rows) {
      const k = key(r.schema, r.table);
      let t = tables.get(k);
      if (!t) {
        t = { schema: r.schema, name: r.table, columns: [] };
        tables.set(k, t);
        this.types.set(k, new Map());
      }
      t.columns.push({ name: r.column, type: r.type });
      this.types.get(k)!.set(r.column.toLowerCase(), r.type);
    }
    this.schema = new InMemoryCatalog([...tables.values()]);
  }

  /** COLUMN_TYPE of a column ("varchar(200)", "varbinary(16)", …); column names are case-insensitive. */
  columnType(schema: string, table: string, column: string): string | undefined {
    return this.types.get(key(schema, table))?.get(column.toLowerCase());
  }

  get tableCount(): number {
    return this.types.size;
  }
}
