// The database operations `smgate migrate` needs, one implementation per dialect (pg-db.ts, mysql-db.ts):
// live table shape (types, defaults, indexes, primary key), DDL, one transaction per batch with keyset
// pagination under FOR UPDATE, batched updates keyed by primary key, and the progress table. Values travel as
// Buffers of the database's text form (binary columns: their stored form, see storedFormOf).
import type { ColumnKind } from "../policy/db/inspector.js";
import type { StoredForm } from "../proxy/codec/stored-form.js";

export interface LiveColumn {
  name: string;
  /** the type as it can be restated in DDL: PG format_type(), MySQL COLUMN_TYPE */
  typeText: string;
  kind: ColumnKind;
  /** declared characters (text) or bytes (binary); undefined = unlimited or n/a */
  maxLength?: number;
  /** integer types: decimal digits it holds */
  maxDigits?: number;
  nullable: boolean;
  /** default expression as the catalog shows it, or null */
  defaultExpr: string | null;
  /** the column leads some index */
  indexed: boolean;
}

export interface LiveTable {
  schema: string;
  name: string;
  /** lower-cased schema.table */
  key: string;
  columns: LiveColumn[];
  primaryKey: string[];
}

/** One row read in a batch: primary-key values (text) and the selected columns' values. */
export interface BatchRow {
  pk: string[];
  values: (Buffer | null)[];
}

export type Operation = "encrypt" | "rekey" | "decrypt";

/** A row of smgate_migration. JSON-valued fields are kept as parsed objects here. */
export interface RunRecord {
  id: number;
  tableName: string;
  operation: Operation;
  /** the protections this run applies, as recorded at its start (ColumnProtection objects) */
  columns: unknown[];
  specDigest: string;
  policyDigest: string;
  /** key ids per protected column: the ones written (`to`) and, for rekey/decrypt, the ones read (`from`) */
  keyIds: Record<string, { from?: number; to?: number }>;
  /** column → type/nullability/default before the first encrypt run, for --decrypt */
  original: Record<string, { typeText: string; nullable: boolean; defaultExpr: string | null; maxOctets: number }>;
  /** indexes this run created (dropped again by --decrypt) */
  createdIndexes: string[];
  lastPk: string[] | null;
  rowsDone: number;
  rowsTotal: number;
  dataDone: boolean;
  startedAt: string;
  finishedAt: string | null;
}

export type NewRun = Omit<RunRecord, "id" | "lastPk" | "rowsDone" | "dataDone" | "startedAt" | "finishedAt">;

export interface MigrateDb {
  readonly dialect: "postgres" | "mysql";
  readonly database: string;
  quote(id: string): string;
  /** "schema"."table" (PG) / `db`.`table` (MySQL) */
  qualified(t: { schema: string; name: string }): string;
  /** schema to look policy tables up in: PG any; MySQL only the URL's database */
  table(schemaTable: string): Promise<LiveTable | undefined>;
  countRows(t: LiveTable): Promise<number>;
  /** longest stored text form of a column, in bytes (0 when empty) */
  maxOctets(t: LiveTable, column: string): Promise<number>;
  /** how values of a column are written (envelopes: text → "text"; bytea → "bytea-hex"; MySQL blobs → "raw") */
  storedFormOf(c: LiveColumn): StoredForm;
  /** DDL statements for the dialect (built by ddl.ts) run in order; PG in one transaction */
  execDdl(statements: string[]): Promise<void>;
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** next rows after `after` (null = from the start) in primary-key order, locked FOR UPDATE */
  selectBatch(t: LiveTable, columns: LiveColumn[], after: string[] | null, limit: number): Promise<BatchRow[]>;
  /** sets `columns` of the rows with the given primary keys */
  updateRows(t: LiveTable, columns: LiveColumn[], rows: BatchRow[]): Promise<void>;
  ensureProgressTable(): Promise<void>;
  progressTableExists(): Promise<boolean>;
  latestRun(tableName: string): Promise<RunRecord | undefined>;
  insertRun(run: NewRun): Promise<number>;
  /** inside the batch transaction: last pk, rows done, data done */
  recordProgress(id: number, lastPk: string[] | null, addRows: number, dataDone: boolean): Promise<void>;
  setRunFields(
    id: number,
    fields: { createdIndexes?: string[]; finished?: boolean; rowsTotal?: number },
  ): Promise<void>;
  close(): Promise<void>;
}

export const PROGRESS_TABLE = "smgate_migration";

/** Parses a run row's JSON columns (shared by both dialects). */
export function runFromRow(r: Record<string, unknown>): RunRecord {
  const j = <T>(v: unknown, dflt: T): T => (v === null || v === undefined ? dflt : (JSON.parse(String(v)) as T));
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null ? null : String(v));
  return {
    id: Number(r.id),
    tableName: String(r.table_name),
    operation: String(r.operation) as Operation,
    columns: j(r.column_specs, []),
    specDigest: String(r.spec_digest),
    policyDigest: String(r.policy_digest),
    keyIds: j(r.key_ids, {}),
    original: j(r.original, {}),
    createdIndexes: j(r.created_indexes, []),
    lastPk: j(r.last_pk, null),
    rowsDone: Number(r.rows_done),
    rowsTotal: Number(r.rows_total),
    dataDone: r.data_done === true || r.data_done === "t" || Number(r.data_done) === 1,
    startedAt: iso(r.started_at) ?? "",
    finishedAt: iso(r.finished_at),
  };
}
