// PostgreSQL catalog reader and sampler (pg): information_schema for columns and keys, pg_class.reltuples
// for size estimates, TABLESAMPLE (SYSTEM, then BERNOULLI) with a random pick on big tables, LIMIT on small ones.
import pg from "pg";
import type { ColumnInfo, ColumnKind, DbInspector, TableInfo } from "./inspector.js";
import { valueText } from "./inspector.js";

const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;

const INTEGER_DIGITS: Record<string, number> = { smallint: 4, integer: 9, bigint: 18 };

function kindOf(dataType: string): ColumnKind {
  if (["character varying", "character", "text", "citext", "name"].includes(dataType)) return "text";
  if (dataType === "bytea") return "binary";
  if (dataType in INTEGER_DIGITS) return "integer";
  if (["numeric", "real", "double precision"].includes(dataType)) return "numeric";
  return "other";
}

function typeText(dataType: string, udt: string, max: number | null): string {
  if (dataType === "character varying") return max ? `varchar(${max})` : "varchar";
  if (dataType === "character") return `char(${max ?? 1})`;
  if (dataType === "USER-DEFINED" || dataType === "ARRAY") return udt;
  return dataType;
}

class PgInspector implements DbInspector {
  readonly dialect = "postgres" as const;
  readonly database: string;
  constructor(private readonly client: pg.Client) {
    this.database = client.database ?? "";
  }

  async tables(schemas?: string[]): Promise<TableInfo[]> {
    const filter = schemas?.length ? "AND c.table_schema = ANY($1)" : "";
    const params = schemas?.length ? [schemas] : [];
    const cols = await this.client.query(
      `SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.udt_name, c.character_maximum_length,
              c.is_nullable
         FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
          AND c.table_schema NOT LIKE 'pg\\_%' ${filter}
        ORDER BY c.table_schema, c.table_name, c.ordinal_position`,
      params,
    );
    const est = await this.client.query(
      `SELECT n.nspname, c.relname, c.reltuples::float8 AS reltuples
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')`,
    );
    const pks = await this.client.query(
      `SELECT k.table_schema, k.table_name, k.column_name
         FROM information_schema.table_constraints tc
         JOIN information_schema.key_column_usage k
           ON k.constraint_name = tc.constraint_name AND k.constraint_schema = tc.constraint_schema
        WHERE tc.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position`,
    );
    const byKey = new Map<string, TableInfo>();
    for (const r of cols.rows) {
      const k = `${r.table_schema}.${r.table_name}`;
      let t = byKey.get(k);
      if (!t) {
        t = {
          schema: r.table_schema,
          name: r.table_name,
          key: k.toLowerCase(),
          estimatedRows: -1,
          columns: [],
          primaryKey: [],
        };
        byKey.set(k, t);
      }
      const kind = kindOf(r.data_type);
      const col: ColumnInfo = {
        name: r.column_name,
        dataType: r.data_type,
        typeText: typeText(r.data_type, r.udt_name, r.character_maximum_length),
        kind,
        nullable: r.is_nullable === "YES",
      };
      if (r.character_maximum_length != null) col.maxLength = Number(r.character_maximum_length);
      if (kind === "integer") col.maxDigits = INTEGER_DIGITS[r.data_type];
      t.columns.push(col);
    }
    for (const r of est.rows) {
      const t = byKey.get(`${r.nspname}.${r.relname}`);
      if (t) t.estimatedRows = Number(r.reltuples);
    }
    for (const r of pks.rows) byKey.get(`${r.table_schema}.${r.table_name}`)?.primaryKey.push(r.column_name);
    return [...byKey.values()];
  }

  async sample(table: TableInfo, columns: string[], n: number): Promise<(string | null)[][]> {
    const list = columns.map(quote).join(", ");
    const from = `${quote(table.schema)}.${quote(table.name)}`;
    let rows: unknown[][] = [];
    if (table.estimatedRows > n * 10) {
      // block sampling reads about 10n rows' worth of pages and keeps a random n of them (a bare LIMIT would keep
      // the first sampled pages' rows). Few pages vary a lot, so a short draw is retried with row sampling, which
      // reads every page but spreads evenly; a plain LIMIT is the last resort for stale size estimates.
      const pct = (rowsWanted: number) => Math.min(100, Math.max(0.0001, (100 * rowsWanted) / table.estimatedRows));
      for (const method of ["SYSTEM", "BERNOULLI"] as const) {
        const r = await this.client.query({
          text: `SELECT ${list} FROM ${from} TABLESAMPLE ${method} (${pct(method === "SYSTEM" ? 10 * n : 3 * n).toFixed(4)}) ORDER BY random() LIMIT ${n}`,
          rowMode: "array",
        });
        rows = r.rows;
        if (rows.length >= n) break;
      }
    }
    if (rows.length < Math.min(n, 10)) {
      const r = await this.client.query({ text: `SELECT ${list} FROM ${from} LIMIT ${n}`, rowMode: "array" });
      rows = r.rows;
    }
    return rows.map((row) => row.map(valueText));
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

export async function openPgInspector(url: string): Promise<DbInspector> {
  const client = new pg.Client({ connectionString: url, statement_timeout: 60_000, application_name: "smgate-policy" });
  await client.connect();
  return new PgInspector(client);
}
