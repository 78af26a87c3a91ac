// Read-only view of a live database for `policy validate --db` and `discover`: tables, columns with their
// types and widths, primary keys, row estimates, and row sampling. Opened from a postgres:// or mysql:// URL.

export type ColumnKind = "text" | "binary" | "integer" | "numeric" | "other";

export interface ColumnInfo {
  /** name as stored in the catalog */
  name: string;
  /** base type name, lower-case (PG information_schema data_type / MySQL DATA_TYPE) */
  dataType: string;
  /** type as a DBA would write it: varchar(18), bytea, varbinary(64)… */
  typeText: string;
  kind: ColumnKind;
  /** declared maximum length in characters (text) or bytes (binary); undefined = unlimited or n/a */
  maxLength?: number;
  /** integer types: the largest number of decimal digits it can hold */
  maxDigits?: number;
  nullable: boolean;
}

export interface TableInfo {
  schema: string;
  name: string;
  /** lower-cased "schema.table" */
  key: string;
  /** planner estimate; -1 = unknown */
  estimatedRows: number;
  columns: ColumnInfo[];
  primaryKey: string[];
}

export interface DbInspector {
  readonly dialect: "postgres" | "mysql";
  /** database name from the URL */
  readonly database: string;
  /** base tables: PG all non-system schemas, MySQL the URL's database (or the given schemas) */
  tables(schemas?: string[]): Promise<TableInfo[]>;
  /** up to n rows of the given columns as text (NULL → null); samples instead of scanning big tables */
  sample(table: TableInfo, columns: string[], n: number): Promise<(string | null)[][]>;
  close(): Promise<void>;
}

export class DbUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DbUrlError";
  }
}

/** Opens an inspector for postgres://, postgresql://, mysql:// or mariadb:// URLs. */
export async function openInspector(url: string): Promise<DbInspector> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DbUrlError("--db: expected a URL like postgres://user@host:5432/db or mysql://user@host:3306/db");
  }
  if (u.protocol === "postgres:" || u.protocol === "postgresql:") {
    const { openPgInspector } = await import("./pg-inspector.js");
    return openPgInspector(url);
  }
  if (u.protocol === "mysql:" || u.protocol === "mariadb:") {
    const { openMysqlInspector } = await import("./mysql-inspector.js");
    return openMysqlInspector(u);
  }
  throw new DbUrlError(`--db: unsupported scheme "${u.protocol}" (use postgres:// or mysql://)`);
}

/** Converts a driver value to its text form for detectors; binary values are skipped (null). */
export function valueText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  return null;
}
