// Test harness for the MySQL gateway suites: starts smgate's MySQL gateway in-process on port 0 in front of the
// real MariaDB at 127.0.0.1:3306 (or a mock), creates per-run databases, and opens mysql2 connections.
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import pino from "pino";
import { type MysqlGateway, type MysqlGatewayOptions, startMysqlGateway } from "../../proxy/mysql/index.js";

export const MARIADB = { host: "127.0.0.1", port: 3306, user: "root", password: "" };

export const silentLogger = pino({ level: process.env.SMG_TEST_LOG ?? "silent" });

export async function startGateway(opts: Partial<MysqlGatewayOptions> = {}): Promise<MysqlGateway> {
  return startMysqlGateway({
    listen: "127.0.0.1:0",
    backend: `${MARIADB.host}:${MARIADB.port}`,
    logger: silentLogger,
    ...opts,
  });
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString("hex")}`;
}

/** A connection straight to MariaDB (the "what is stored" side of a test). */
export function direct(database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({ ...MARIADB, database });
}

/** A connection through the gateway. */
export function viaGateway(gw: MysqlGateway, extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  const { host, port } = gw.address();
  return mysql.createConnection({ host, port, user: MARIADB.user, password: MARIADB.password, ...extra });
}

export async function createDatabase(prefix = "smg_mysql"): Promise<string> {
  const name = uniqueName(prefix);
  const c = await direct();
  await c.query(`CREATE DATABASE \`${name}\``);
  await c.end();
  return name;
}

export async function dropDatabase(name: string): Promise<void> {
  const c = await direct();
  await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await c.end();
}
