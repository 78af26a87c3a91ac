// The two real servers the migrate suite runs against, behind one small interface: create an own database
// (smg_migrate_<random>), seed the plaintext tables and their untouched copies, read rows as raw text forms,
// describe column shapes and indexes, read the progress table, and drop everything afterwards.
import { randomBytes } from "node:crypto";
import type { StoredForm } from "../../proxy/codec/stored-form.js";
import { MyRaw, PATIENT_COLUMNS, type PatientRow, PgRaw, type RawRow } from "./helpers.js";

export interface Progress {
  id: number;
  rowsDone: number;
  rowsTotal: number;
  lastPk: string | null;
  finished: boolean;
}

export interface Dialect {
  name: "postgres" | "mariadb";
  url: string;
  /** schema part of policy table names */
  schema: string;
  /** stored form of bytea / varbinary companion columns as read by the raw reader */
  companionForm: StoredForm;
  rows(sql: string, params?: unknown[]): Promise<RawRow[]>;
  exec(sql: string, params?: unknown[]): Promise<void>;
  q(id: string): string;
  /** column name, type, nullability, default of a table, in order */
  shape(table: string): Promise<string[][]>;
  indexes(table: string): Promise<string[]>;
  progress(table: string): Promise<Progress | undefined>;
  seed(rows: PatientRow[], visits: number): Promise<void>;
  close(): Promise<void>;
}

const SEED_CHUNK = 2000;

async function seedRows(d: Dialect, rows: PatientRow[], visits: number): Promise<void> {
  const cols = PATIENT_COLUMNS.map((c) => d.q(c)).join(", ");
  for (let i = 0; i < rows.length; i += SEED_CHUNK) {
    const chunk = rows.slice(i, i + SEED_CHUNK);
    const params: unknown[] = [];
    const tuples = chunk.map((r) => {
      const ph = PATIENT_COLUMNS.map((c) => {
        params.push(r[c]);
        return d.name === "postgres" ? `$${params.length}` : "?";
      });
      return `(${ph.join(", ")})`;
    });
    await d.exec(`INSERT INTO patients (${cols}) VALUES ${tuples.join(", ")}`, params);
  }
  const v: unknown[] = [];
  const tuples: string[] = [];
  for (let i = 1; i <= visits; i++) {
    const seq = 1 + (i % 3);
    const pid = Math.ceil(i / 3);
    v.push(pid, seq, i % 5 === 0 ? null : `visit ${i}: 复诊`);
    const n = v.length;
    tuples.push(d.name === "postgres" ? `($${n - 2}, $${n - 1}, $${n})` : "(?, ?, ?)");
  }
  await d.exec(`INSERT INTO visits (patient_id, seq, note) VALUES ${tuples.join(", ")}`, v);
  await d.exec("CREATE TABLE patients_orig AS SELECT * FROM patients");
  await d.exec("CREATE TABLE visits_orig AS SELECT * FROM visits");
}

export async function openPostgres(): Promise<Dialect> {
  const db = `smg_migrate_${randomBytes(4).toString("hex")}`;
  const admin = await PgRaw.open("postgres://postgres@127.0.0.1:5432/test");
  await admin.exec(`CREATE DATABASE ${db}`);
  const url = `postgres://postgres@127.0.0.1:5432/${db}`;
  const raw = await PgRaw.open(url);
  await raw.exec(`CREATE TABLE patients (id integer PRIMARY KEY, id_card varchar(18), phone varchar(11), diagnosis text,
    name varchar(40), birth date DEFAULT '2000-01-01', balance numeric(12,2) NOT NULL DEFAULT 0)`);
  await raw.exec("CREATE TABLE visits (patient_id integer, seq integer, note text, PRIMARY KEY (patient_id, seq))");
  const d: Dialect = {
    name: "postgres",
    url,
    schema: "public",
    companionForm: "bytea-hex",
    rows: (s, p) => raw.rows(s, p),
    exec: (s, p) => raw.exec(s, p),
    q: (id) => `"${id}"`,
    async shape(table) {
      const r = await raw.rows(
        `SELECT column_name, data_type, coalesce(character_maximum_length::text, ''), coalesce(numeric_precision::text, ''),
                coalesce(numeric_scale::text, ''), is_nullable, coalesce(column_default, '')
           FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
        [table],
      );
      return r.map((row) => row.map((b) => b!.toString()));
    },
    async indexes(table) {
      const r = await raw.rows("SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname", [table]);
      return r.map((row) => row[0]!.toString());
    },
    async progress(table) {
      const r = await raw.rows(
        `SELECT id, rows_done, rows_total, last_pk, finished_at IS NOT NULL FROM smgate_migration
          WHERE table_name = $1 ORDER BY id DESC LIMIT 1`,
        [`public.${table}`],
      );
      return r.length ? toProgress(r[0], "t") : undefined;
    },
    seed: (rows, visits) => seedRows(d, rows, visits),
    async close() {
      await raw.close();
      await admin.exec(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.close();
    },
  };
  return d;
}

export async function openMariadb(): Promise<Dialect> {
  const db = `smg_migrate_${randomBytes(4).toString("hex")}`;
  const admin = await MyRaw.open("test");
  await admin.exec(`CREATE DATABASE ${db} CHARACTER SET utf8mb4`);
  const raw = await MyRaw.open(db);
  await raw.exec(`CREATE TABLE patients (id int PRIMARY KEY, id_card varchar(18), phone varchar(11), diagnosis text,
    name varchar(40), birth date DEFAULT '2000-01-01', balance decimal(12,2) NOT NULL DEFAULT 0) DEFAULT CHARSET utf8mb4`);
  await raw.exec(
    "CREATE TABLE visits (patient_id int, seq int, note text, PRIMARY KEY (patient_id, seq)) DEFAULT CHARSET utf8mb4",
  );
  const d: Dialect = {
    name: "mariadb",
    url: `mysql://root@127.0.0.1:3306/${db}`,
    schema: db,
    companionForm: "raw",
    rows: (s, p) => raw.rows(s, p),
    exec: (s, p) => raw.exec(s, p),
    q: (id) => `\`${id}\``,
    async shape(table) {
      const r = await raw.rows(
        `SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COALESCE(COLUMN_DEFAULT, '') FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
        [db, table],
      );
      return r.map((row) => row.map((b) => b!.toString()));
    },
    async indexes(table) {
      const r = await raw.rows(
        `SELECT CONCAT(INDEX_NAME, ':', COLUMN_NAME, ':', SEQ_IN_INDEX) FROM information_schema.STATISTICS
          WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
        [db, table],
      );
      return r.map((row) => row[0]!.toString());
    },
    async progress(table) {
      const r = await raw.rows(
        `SELECT id, rows_done, rows_total, last_pk, finished_at IS NOT NULL FROM smgate_migration
          WHERE table_name = ? ORDER BY id DESC LIMIT 1`,
        [`${db}.${table}`],
      );
      return r.length ? toProgress(r[0], "1") : undefined;
    },
    seed: (rows, visits) => seedRows(d, rows, visits),
    async close() {
      await raw.close();
      await admin.exec(`DROP DATABASE IF EXISTS ${db}`);
      await admin.close();
    },
  };
  return d;
}

function toProgress(r: RawRow, yes: string): Progress {
  return {
    id: Number(r[0]!.toString()),
    rowsDone: Number(r[1]!.toString()),
    rowsTotal: Number(r[2]!.toString()),
    lastPk: r[3] === null ? null : r[3].toString(),
    finished: r[4]!.toString() === yes,
  };
}
