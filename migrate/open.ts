// Opens the dialect implementation of MigrateDb for a postgres:// or mysql:// (mariadb://) URL.
import { DbUrlError } from "../policy/db/inspector.js";
import type { MigrateDb } from "./db.js";

export async function openMigrateDb(url: string): Promise<MigrateDb> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DbUrlError("--db: expected a URL like postgres://user@host:5432/db or mysql://user@host:3306/db");
  }
  if (u.protocol === "postgres:" || u.protocol === "postgresql:") {
    const { PgMigrateDb } = await import("./pg-db.js");
    return PgMigrateDb.open(url);
  }
  if (u.protocol === "mysql:" || u.protocol === "mariadb:") {
    const { MysqlMigrateDb } = await import("./mysql-db.js");
    return MysqlMigrateDb.open(u);
  }
  throw new DbUrlError(`--db: unsupported scheme "${u.protocol}" (use postgres:// or mysql://)`);
}
