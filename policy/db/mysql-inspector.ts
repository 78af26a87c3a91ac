// MySQL/MariaDB catalog reader and sampler (mysql2): information_schema for columns, keys and row estimates;
// big tables with an integer primary key are sampled by random key ranges, others with LIMIT.
import mysql from "mysql2/promise";
import type { ColumnInfo, DbInspector, TableInfo } from "./inspector.js";
import { DbUrlError, valueText } from "./inspector.js";
import { MYSQL_INTEGER_DIGITS, MYSQL_UNBOUNDED, mysqlColumnKind } from "./mysql-types.js";

const quote = (id: string) => `\`${id.replace(/`/g, "``")}\``;

interface ColRow {
  TABLE_SCHEMA: string;
  TABLE_NAME: string;
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  CHARACTER_MAXIMUM_LENGTH: number | string | null;
  IS_NULLABLE: string;
  COLUMN_KEY: string;
}

class MysqlInspector implements DbInspector {
  readonly dialect = "mysql" as const;
  constructor(
    private readonly conn: mysql.Connection,
    readonly database: string,
  ) {}

  async tables(schemas?: string[]): Promise<TableInfo[]> {
    const list = schemas?.length ? schemas : [this.database];
    const [cols] = await this.conn.query(
      `SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.CHARACTER_MAXIMUM_LENGTH,
              c.IS_NULLABLE, c.COLUMN_KEY
         FROM information_schema.COLUMNS c
         JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
        WHERE t.TABLE_TYPE = 'BASE TABLE' AND c.TABLE_SCHEMA IN (?)
        ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION`,
      [list],
    );
    const [est] = await this.conn.query(
      "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?)",
      [list],
    );
    const byKey = new Map<string, TableInfo>();
    for (const r of cols as ColRow[]) {
      const k = `${r.TABLE_SCHEMA}.${r.TABLE_NAME}`;
      let t = byKey.get(k);
      if (!t) {
        t = {
          schema: r.TABLE_SCHEMA,
          name: r.TABLE_NAME,
          key: k.toLowerCase(),
          estimatedRows: -1,
          columns: [],
          primaryKey: [],
        };
        byKey.set(k, t);
      }
      const dt = r.DATA_TYPE.toLowerCase();
      const kind = mysqlColumnKind(dt);
      const col: ColumnInfo = {
        name: r.COLUMN_NAME,
        dataType: dt,
        typeText: r.COLUMN_TYPE,
        kind,
        nullable: r.IS_NULLABLE === "YES",
      };
      if (r.CHARACTER_MAXIMUM_LENGTH != null && !MYSQL_UNBOUNDED.has(dt))
        col.maxLength = Number(r.CHARACTER_MAXIMUM_LENGTH);
      if (kind === "integer") col.maxDigits = MYSQL_INTEGER_DIGITS[dt];
      t.columns.push(col);
      if (r.COLUMN_KEY === "PRI") t.primaryKey.push(r.COLUMN_NAME);
    }
    for (const r of est as { TABLE_SCHEMA: string; TABLE_NAME: string; TABLE_ROWS: number | null }[]) {
      const t = byKey.get(`${r.TABLE_SCHEMA}.${r.TABLE_NAME}`);
      if (t && r.TABLE_ROWS != null) t.estimatedRows = Number(r.TABLE_ROWS);
    }
    return [...byKey.values()];
  }

  async sample(table: TableInfo, columns: string[], n: number): Promise<(string | null)[][]> {
    const list = columns.map(quote).join(", ");
    const from = `${quote(table.schema)}.${quote(table.name)}`;
    const pk = table.primaryKey.length === 1 ? table.columns.find((c) => c.name === table.primaryKey[0]) : undefined;
    let rows: unknown[][] = [];
    if (table.estimatedRows > n * 10 && pk?.kind === "integer") {
      // random primary-key ranges: RANGES index seeks of n/RANGES rows each, no full scan
      const RANGES = 8;
      const [mm] = await this.conn.query({
        sql: `SELECT MIN(${quote(pk.name)}), MAX(${quote(pk.name)}) FROM ${from}`,
        rowsAsArray: true,
      });
      const [lo, hi] = (mm as unknown[][])[0].map((v) => Number(v));
      if (Number.isFinite(lo) && Number.isFinite(hi)) {
        const per = Math.ceil(n / RANGES);
        for (let i = 0; i < RANGES && rows.length < n; i++) {
          const start = Math.floor(lo + Math.random() * (hi - lo + 1));
          const [r] = await this.conn.query({
            sql: `SELECT ${list} FROM ${from} WHERE ${quote(pk.name)} >= ? ORDER BY ${quote(pk.name)} LIMIT ${per}`,
            values: [start],
            rowsAsArray: true,
          });
          rows.push(...(r as unknown[][]));
        }
      }
    }
    if (rows.length < Math.min(n, 10)) {
      const [r] = await this.conn.query({ sql: `SELECT ${list} FROM ${from} LIMIT ${n}`, rowsAsArray: true });
      rows = r as unknown[][];
    }
    return rows.slice(0, n).map((row) => row.map(valueText));
  }

  async close(): Promise<void> {
    await this.conn.end();
  }
}

export async function openMysqlInspector(u: URL): Promise<DbInspector> {
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (!database) throw new DbUrlError("--db: a mysql:// URL must name the database: mysql://user@host:3306/dbname");
  const conn = await mysql.createConnection({
    host: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || "root"),
    password: decodeURIComponent(u.password),
    database,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  return new MysqlInspector(conn, database);
}
