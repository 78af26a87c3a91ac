// PostgreSQL side of `smgate migrate` (node-postgres): every value is read and written in its text form (all
// type parsers disabled, bytea_output = hex), batches are keyset-paginated with a row comparison on the
// primary key under FOR UPDATE, and updates go out as one UPDATE … FROM unnest($1::text[], …) per batch.
import pg from "pg";
import type { ColumnKind } from "../policy/db/inspector.js";
import type { StoredForm } from "../proxy/codec/stored-form.js";
import {
  type BatchRow,
  type LiveColumn,
  type LiveTable,
  type MigrateDb,
  type NewRun,
  PROGRESS_TABLE,
  type RunRecord,
  runFromRow,
} from "./db.js";

const rawText = (v: string) => v;
const TYPES = { getTypeParser: () => rawText } as unknown as pg.CustomTypesConfig;

const INTEGER_DIGITS: Record<string, number> = { int2: 4, int4: 9, int8: 18 };

function kindOf(typname: string): ColumnKind {
  if (["varchar", "bpchar", "text", "citext", "name"].includes(typname)) return "text";
  if (typname === "bytea") return "binary";
  if (typname in INTEGER_DIGITS) return "integer";
  if (["numeric", "float4", "float8"].includes(typname)) return "numeric";
  return "other";
}

export class PgMigrateDb implements MigrateDb {
  readonly dialect = "postgres" as const;
  readonly database: string;

  private constructor(private readonly client: pg.Client) {
    this.database = client.database ?? "";
  }

  static async open(url: string): Promise<PgMigrateDb> {
    const client = new pg.Client({ connectionString: url, types: TYPES, application_name: "smgate-migrate" });
    await client.connect();
    await client.query("SET bytea_output = hex");
    return new PgMigrateDb(client);
  }

  quote(id: string): string {
    return `"${id.replace(/"/g, '""')}"`;
  }

  qualified(t: { schema: string; name: string }): string {
    return `${this.quote(t.schema)}.${this.quote(t.name)}`;
  }

  async table(schemaTable: string): Promise<LiveTable | undefined> {
    const dot = schemaTable.indexOf(".");
    const [schema, name] = [schemaTable.slice(0, dot), schemaTable.slice(dot + 1)];
    const rel = await this.client.query(
      `SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND lower(n.nspname) = $1 AND lower(c.relname) = $2`,
      [schema.toLowerCase(), name.toLowerCase()],
    );
    if (rel.rows.length === 0) return undefined;
    const { oid, nspname, relname } = rel.rows[0];
    const cols = await this.client.query(
      `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, t.typname, a.attnotnull,
              pg_get_expr(d.adbin, d.adrelid) AS dflt,
              CASE WHEN t.typname IN ('varchar', 'bpchar') AND a.atttypmod > 4 THEN a.atttypmod - 4 END AS maxlen,
              EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indkey[0] = a.attnum) AS indexed
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [oid],
    );
    const pk = await this.client.query(
      `SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord`,
      [oid],
    );
    const columns: LiveColumn[] = cols.rows.map((r) => {
      const kind = kindOf(r.typname);
      const c: LiveColumn = {
        name: r.attname,
        typeText: r.type,
        kind,
        nullable: r.attnotnull !== "t",
        defaultExpr: r.dflt ?? null,
        indexed: r.indexed === "t",
      };
      if (r.maxlen !== null) c.maxLength = Number(r.maxlen);
      if (kind === "integer") c.maxDigits = INTEGER_DIGITS[r.typname];
      return c;
    });
    return {
      schema: nspname,
      name: relname,
      key: `${nspname}.${relname}`.toLowerCase(),
      columns,
      primaryKey: pk.rows.map((r) => r.attname),
    };
  }

  async countRows(t: LiveTable): Promise<number> {
    const r = await this.client.query(`SELECT count(*) AS n FROM ${this.qualified(t)}`);
    return Number(r.rows[0].n);
  }

  async maxOctets(t: LiveTable, column: string): Promise<number> {
    const r = await this.client.query(
      `SELECT coalesce(max(octet_length(${this.quote(column)}::text)), 0) AS n FROM ${this.qualified(t)}`,
    );
    return Number(r.rows[0].n);
  }

  storedFormOf(c: LiveColumn): StoredForm {
    return c.kind === "binary" ? "bytea-hex" : "text";
  }

  async execDdl(statements: string[]): Promise<void> {
    if (statements.length === 0) return;
    await this.client.query("BEGIN");
    try {
      for (const s of statements) await this.client.query(s);
      await this.client.query("COMMIT");
    } catch (err) {
      await this.client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  }

  async begin(): Promise<void> {
    await this.client.query("BEGIN");
  }
  async commit(): Promise<void> {
    await this.client.query("COMMIT");
  }
  async rollback(): Promise<void> {
    await this.client.query("ROLLBACK");
  }

  private pkType(t: LiveTable, name: string): string {
    return t.columns.find((c) => c.name === name)!.typeText;
  }

  async selectBatch(t: LiveTable, columns: LiveColumn[], after: string[] | null, limit: number): Promise<BatchRow[]> {
    const pk = t.primaryKey.map((k) => this.quote(k));
    const list = [...pk, ...columns.map((c) => this.quote(c.name))].join(", ");
    let where = "";
    const params: string[] = [];
    if (after) {
      const ph = t.primaryKey.map((k, i) => `$${i + 1}::${this.pkType(t, k)}`);
      where = `WHERE (${pk.join(", ")}) > (${ph.join(", ")})`;
      params.push(...after);
    }
    const r = await this.client.query({
      text: `SELECT ${list} FROM ${this.qualified(t)} ${where} ORDER BY ${pk.join(", ")} LIMIT ${limit} FOR UPDATE`,
      values: params,
      rowMode: "array",
    });
    const n = t.primaryKey.length;
    return (r.rows as (string | null)[][]).map((row) => ({
      pk: row.slice(0, n) as string[],
      values: row
        .slice(n)
        .map((v, i) => (v === null ? null : Buffer.from(v, columns[i].kind === "binary" ? "latin1" : "utf8"))),
    }));
  }

  async updateRows(t: LiveTable, columns: LiveColumn[], rows: BatchRow[]): Promise<void> {
    if (rows.length === 0 || columns.length === 0) return;
    const n = t.primaryKey.length;
    const arrays: (string | null)[][] = [];
    for (let k = 0; k < n; k++) arrays.push(rows.map((r) => r.pk[k]));
    columns.forEach((c, j) => {
      const enc = c.kind === "binary" ? "latin1" : "utf8";
      arrays.push(rows.map((r) => (r.values[j] === null ? null : r.values[j]!.toString(enc))));
    });
    const alias = [...t.primaryKey.map((_, k) => `k${k}`), ...columns.map((_, j) => `c${j}`)];
    const unnest = arrays.map((_, i) => `$${i + 1}::text[]`).join(", ");
    const set = columns.map((c, j) => `${this.quote(c.name)} = v.c${j}::${c.typeText}`).join(", ");
    const match = t.primaryKey
      .map((k, i) => `${this.qualified(t)}.${this.quote(k)} = v.k${i}::${this.pkType(t, k)}`)
      .join(" AND ");
    await this.client.query(
      `UPDATE ${this.qualified(t)} SET ${set} FROM unnest(${unnest}) AS v(${alias.join(", ")}) WHERE ${match}`,
      arrays,
    );
  }

  async progressTableExists(): Promise<boolean> {
    const r = await this.client.query("SELECT to_regclass($1) IS NOT NULL AS e", [PROGRESS_TABLE]);
    return r.rows[0].e === "t";
  }

  async ensureProgressTable(): Promise<void> {
    await this.client.query(`CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (
      id bigserial PRIMARY KEY,
      table_name text NOT NULL,
      operation text NOT NULL,
      column_specs text NOT NULL,
      spec_digest text NOT NULL,
      policy_digest text NOT NULL,
      key_ids text NOT NULL,
      original text NOT NULL,
      created_indexes text NOT NULL DEFAULT '[]',
      last_pk text,
      rows_done bigint NOT NULL DEFAULT 0,
      rows_total bigint NOT NULL DEFAULT 0,
      data_done boolean NOT NULL DEFAULT false,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz)`);
  }

  async latestRun(tableName: string): Promise<RunRecord | undefined> {
    if (!(await this.progressTableExists())) return undefined;
    const r = await this.client.query(
      `SELECT * FROM ${PROGRESS_TABLE} WHERE table_name = $1 ORDER BY id DESC LIMIT 1`,
      [tableName],
    );
    return r.rows.length ? runFromRow(r.rows[0]) : undefined;
  }

  async insertRun(run: NewRun): Promise<number> {
    const r = await this.client.query(
      `INSERT INTO ${PROGRESS_TABLE} (table_name, operation, column_specs, spec_digest, policy_digest, key_ids, original,
         created_indexes, rows_total) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [
        run.tableName,
        run.operation,
        JSON.stringify(run.columns),
        run.specDigest,
        run.policyDigest,
        JSON.stringify(run.keyIds),
        JSON.stringify(run.original),
        JSON.stringify(run.createdIndexes),
        run.rowsTotal,
      ],
    );
    return Number(r.rows[0].id);
  }

  async recordProgress(id: number, lastPk: string[] | null, addRows: number, dataDone: boolean): Promise<void> {
    await this.client.query(
      `UPDATE ${PROGRESS_TABLE} SET last_pk = coalesce($2, last_pk), rows_done = rows_done + $3, data_done = $4
        WHERE id = $1`,
      [id, lastPk ? JSON.stringify(lastPk) : null, addRows, dataDone],
    );
  }

  async setRunFields(
    id: number,
    f: { createdIndexes?: string[]; finished?: boolean; rowsTotal?: number },
  ): Promise<void> {
    if (f.createdIndexes)
      await this.client.query(`UPDATE ${PROGRESS_TABLE} SET created_indexes = $2 WHERE id = $1`, [
        id,
        JSON.stringify(f.createdIndexes),
      ]);
    if (f.rowsTotal !== undefined)
      await this.client.query(`UPDATE ${PROGRESS_TABLE} SET rows_total = $2 WHERE id = $1`, [id, f.rowsTotal]);
    if (f.finished) await this.client.query(`UPDATE ${PROGRESS_TABLE} SET finished_at = now() WHERE id = $1`, [id]);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
