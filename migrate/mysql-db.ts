// MariaDB/MySQL side of `smgate migrate` (mysql2): batch values are read as the raw bytes of the text protocol
// (the text form; binary columns their stored bytes), keyset pagination expands the primary-key comparison
// into OR-ed prefixes (which InnoDB turns into index ranges), updates are one UPDATE … JOIN (SELECT … UNION
// ALL …) per batch, and DDL statements run one by one (MySQL commits DDL implicitly).
import mysql from "mysql2/promise";
import { DbUrlError } from "../policy/db/inspector.js";
import { MYSQL_INTEGER_DIGITS, MYSQL_UNBOUNDED, mysqlColumnKind } from "../policy/db/mysql-types.js";
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

type Row = Record<string, unknown>;

export class MysqlMigrateDb implements MigrateDb {
  readonly dialect = "mysql" as const;

  private constructor(
    private readonly conn: mysql.Connection,
    readonly database: string,
  ) {}

  static async open(u: URL): Promise<MysqlMigrateDb> {
    const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
    if (!database) throw new DbUrlError("--db: a mysql:// URL must name the database: mysql://user@host:3306/dbname");
    const conn = await mysql.createConnection({
      host: u.hostname || "127.0.0.1",
      port: u.port ? Number(u.port) : 3306,
      user: decodeURIComponent(u.username || "root"),
      password: decodeURIComponent(u.password),
      database,
      charset: "utf8mb4",
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
    return new MysqlMigrateDb(conn, database);
  }

  quote(id: string): string {
    return `\`${id.replace(/`/g, "``")}\``;
  }

  qualified(t: { schema: string; name: string }): string {
    return `${this.quote(t.schema)}.${this.quote(t.name)}`;
  }

  private async rows(sql: string, values: unknown[] = []): Promise<Row[]> {
    const [r] = await this.conn.query(sql, values);
    return r as Row[];
  }

  async table(schemaTable: string): Promise<LiveTable | undefined> {
    const dot = schemaTable.indexOf(".");
    const [schema, name] = [schemaTable.slice(0, dot), schemaTable.slice(dot + 1)];
    if (schema.toLowerCase() !== this.database.toLowerCase()) return undefined;
    const cols = await this.rows(
      `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE,
              COLUMN_DEFAULT
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND LOWER(TABLE_NAME) = ? ORDER BY ORDINAL_POSITION`,
      [this.database, name.toLowerCase()],
    );
    if (cols.length === 0) return undefined;
    const tableName = String(cols[0].TABLE_NAME);
    const stats = await this.rows(
      `SELECT INDEX_NAME, COLUMN_NAME, SEQ_IN_INDEX FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
      [this.database, tableName],
    );
    const leading = new Set(stats.filter((s) => Number(s.SEQ_IN_INDEX) === 1).map((s) => String(s.COLUMN_NAME)));
    const primaryKey = stats.filter((s) => s.INDEX_NAME === "PRIMARY").map((s) => String(s.COLUMN_NAME));
    const columns: LiveColumn[] = cols.map((r) => {
      const dt = String(r.DATA_TYPE).toLowerCase();
      const kind = mysqlColumnKind(dt);
      const dflt = r.COLUMN_DEFAULT === null || r.COLUMN_DEFAULT === "NULL" ? null : String(r.COLUMN_DEFAULT);
      const c: LiveColumn = {
        name: String(r.COLUMN_NAME),
        typeText: String(r.COLUMN_TYPE),
        kind,
        nullable: r.IS_NULLABLE === "YES",
        defaultExpr: dflt,
        indexed: leading.has(String(r.COLUMN_NAME)),
      };
      if (r.CHARACTER_MAXIMUM_LENGTH != null && !MYSQL_UNBOUNDED.has(dt))
        c.maxLength = Number(r.CHARACTER_MAXIMUM_LENGTH);
      if (kind === "integer") c.maxDigits = MYSQL_INTEGER_DIGITS[dt];
      return c;
    });
    return {
      schema: String(cols[0].TABLE_SCHEMA),
      name: tableName,
      key: `${cols[0].TABLE_SCHEMA}.${tableName}`.toLowerCase(),
      columns,
      primaryKey,
    };
  }

  async countRows(t: LiveTable): Promise<number> {
    const r = await this.rows(`SELECT COUNT(*) AS n FROM ${this.qualified(t)}`);
    return Number(r[0].n);
  }

  async maxOctets(t: LiveTable, column: string): Promise<number> {
    const r = await this.rows(
      `SELECT COALESCE(MAX(OCTET_LENGTH(${this.quote(column)})), 0) AS n FROM ${this.qualified(t)}`,
    );
    return Number(r[0].n);
  }

  storedFormOf(c: LiveColumn): StoredForm {
    return c.kind === "binary" ? "raw" : "text";
  }

  async execDdl(statements: string[]): Promise<void> {
    for (const s of statements) await this.conn.query(s);
  }

  async begin(): Promise<void> {
    await this.conn.query("START TRANSACTION");
  }
  async commit(): Promise<void> {
    await this.conn.query("COMMIT");
  }
  async rollback(): Promise<void> {
    await this.conn.query("ROLLBACK");
  }

  async selectBatch(t: LiveTable, columns: LiveColumn[], after: string[] | null, limit: number): Promise<BatchRow[]> {
    const pk = t.primaryKey.map((k) => this.quote(k));
    const list = [...pk, ...columns.map((c) => this.quote(c.name))].join(", ");
    let where = "";
    const values: string[] = [];
    if (after) {
      const ors: string[] = [];
      for (let i = 0; i < pk.length; i++) {
        const parts: string[] = [];
        for (let j = 0; j < i; j++) {
          parts.push(`${pk[j]} = ?`);
          values.push(after[j]);
        }
        parts.push(`${pk[i]} > ?`);
        values.push(after[i]);
        ors.push(`(${parts.join(" AND ")})`);
      }
      where = `WHERE ${ors.join(" OR ")}`;
    }
    const [r] = await this.conn.query({
      sql: `SELECT ${list} FROM ${this.qualified(t)} ${where} ORDER BY ${pk.join(", ")} LIMIT ${limit} FOR UPDATE`,
      values,
      rowsAsArray: true,
      typeCast: (field: { buffer(): Buffer | null }) => field.buffer(),
    } as mysql.QueryOptions);
    const n = t.primaryKey.length;
    return (r as (Buffer | null)[][]).map((row) => ({
      pk: row.slice(0, n).map((v) => (v as Buffer).toString("utf8")),
      values: row.slice(n),
    }));
  }

  async updateRows(t: LiveTable, columns: LiveColumn[], rows: BatchRow[]): Promise<void> {
    if (rows.length === 0 || columns.length === 0) return;
    const values: unknown[] = [];
    const selects = rows.map((r, i) => {
      for (const k of r.pk) values.push(k);
      columns.forEach((c, j) => {
        const v = r.values[j];
        values.push(v === null ? null : c.kind === "binary" ? v : v.toString("utf8"));
      });
      const cells = [...r.pk.map((_, k) => `k${k}`), ...columns.map((_, j) => `c${j}`)];
      return `SELECT ${cells.map((a) => (i === 0 ? `? AS ${a}` : "?")).join(", ")}`;
    });
    const set = columns.map((c, j) => `t.${this.quote(c.name)} = v.c${j}`).join(", ");
    const on = t.primaryKey.map((k, i) => `t.${this.quote(k)} = v.k${i}`).join(" AND ");
    await this.conn.query(
      `UPDATE ${this.qualified(t)} t JOIN (${selects.join(" UNION ALL ")}) v ON ${on} SET ${set}`,
      values,
    );
  }

  async progressTableExists(): Promise<boolean> {
    const r = await this.rows(
      "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
      [this.database, PROGRESS_TABLE],
    );
    return Number(r[0].n) > 0;
  }

  async ensureProgressTable(): Promise<void> {
    await this.conn.query(`CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (
      id BIGINT AUTO_INCREMENT PRIMARY KEY,
      table_name VARCHAR(300) NOT NULL,
      operation VARCHAR(16) NOT NULL,
      column_specs LONGTEXT NOT NULL,
      spec_digest VARCHAR(64) NOT NULL,
      policy_digest VARCHAR(64) NOT NULL,
      key_ids TEXT NOT NULL,
      original LONGTEXT NOT NULL,
      created_indexes TEXT NOT NULL,
      last_pk TEXT NULL,
      rows_done BIGINT NOT NULL DEFAULT 0,
      rows_total BIGINT NOT NULL DEFAULT 0,
      data_done TINYINT NOT NULL DEFAULT 0,
      started_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      finished_at DATETIME(3) NULL) ENGINE=InnoDB`);
  }

  async latestRun(tableName: string): Promise<RunRecord | undefined> {
    if (!(await this.progressTableExists())) return undefined;
    const r = await this.rows(`SELECT * FROM ${PROGRESS_TABLE} WHERE table_name = ? ORDER BY id DESC LIMIT 1`, [
      tableName,
    ]);
    return r.length ? runFromRow(r[0]) : undefined;
  }

  async insertRun(run: NewRun): Promise<number> {
    const [res] = await this.conn.query(
      `INSERT INTO ${PROGRESS_TABLE} (table_name, operation, column_specs, spec_digest, policy_digest, key_ids,
         original, created_indexes, rows_total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    return Number((res as mysql.ResultSetHeader).insertId);
  }

  async recordProgress(id: number, lastPk: string[] | null, addRows: number, dataDone: boolean): Promise<void> {
    await this.conn.query(
      `UPDATE ${PROGRESS_TABLE} SET last_pk = COALESCE(?, last_pk), rows_done = rows_done + ?, data_done = ?
        WHERE id = ?`,
      [lastPk ? JSON.stringify(lastPk) : null, addRows, dataDone ? 1 : 0, id],
    );
  }

  async setRunFields(
    id: number,
    f: { createdIndexes?: string[]; finished?: boolean; rowsTotal?: number },
  ): Promise<void> {
    if (f.createdIndexes)
      await this.conn.query(`UPDATE ${PROGRESS_TABLE} SET created_indexes = ? WHERE id = ?`, [
        JSON.stringify(f.createdIndexes),
        id,
      ]);
    if (f.rowsTotal !== undefined)
      await this.conn.query(`UPDATE ${PROGRESS_TABLE} SET rows_total = ? WHERE id = ?`, [f.rowsTotal, id]);
    if (f.finished)
      await this.conn.query(`UPDATE ${PROGRESS_TABLE} SET finished_at = CURRENT_TIMESTAMP(3) WHERE id = ?`, [id]);
  }

  async close(): Promise<void> {
    await this.conn.end();
  }
}
