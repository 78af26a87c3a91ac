// MariaDB helpers for the plugin suites: a throw-away database and a JSON_TABLE batch query helper.
import mysql, { type Connection } from "mysql2/promise";
import { installMariadbUdfs } from "../../plugins/installer/mariadb-udfs.js";
import { MARIADB_ADMIN, uniqueName } from "./plugin-setup.js";

export async function createMariadbDatabase(): Promise<{ name: string; conn: Connection; drop: () => Promise<void> }> {
  const name = uniqueName();
  const conn = await mysql.createConnection({ ...MARIADB_ADMIN, multipleStatements: true, charset: "utf8mb4" });
  await conn.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  await conn.query(`USE ${name}`);
  await installMariadbUdfs(conn);
  return {
    name,
    conn,
    drop: async () => {
      await conn.query(`DROP DATABASE IF EXISTS ${name}`);
      await conn.end();
    },
  };
}

/** Runs `expr` (using column v) over many values in one statement; returns the results in input order. */
export async function mapValues(
  conn: Connection,
  values: string[],
  expr: string,
  params: unknown[],
): Promise<unknown[]> {
  const [rows] = await conn.query(
    `SELECT ${expr} AS r FROM JSON_TABLE(?, '$[*]' COLUMNS (i FOR ORDINALITY, v LONGTEXT PATH '$')) AS j ORDER BY i`,
    [...params, JSON.stringify(values)],
  );
  return (rows as { r: unknown }[]).map((x) => x.r);
}

export function asText(v: unknown): string | null {
  if (v === null) return null;
  return Buffer.isBuffer(v) ? v.toString("utf8") : String(v);
}
