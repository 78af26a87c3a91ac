// `smgate plugin install|uninstall` for MariaDB: registers the UDFs, stores the encrypted key bundle, and per
// protected table encrypts existing values, renames the table to <table>_enc, adds BEFORE INSERT/UPDATE triggers
// that encrypt plaintext writes and creates the read view with the original name. MariaDB DDL is not
// transactional: steps are ordered so a failure leaves either the original table or a complete install, and the
// error names the step.
import type { Connection } from "mysql2/promise";
import { PluginError } from "./errors.js";
import {
  bq,
  createViewSql,
  isTextLike,
  MARIADB_SPEC_VERSION,
  type MariaColumn,
  type MariaInstalledSpec,
  mlit,
  originalDefinition,
  triggerSql,
} from "./mariadb-sql.js";
import { installMariadbUdfs } from "./mariadb-udfs.js";
import type { InstallReport } from "./pg-install.js";
import type { ColumnPlan, InstallPlan, TablePlan } from "./plan.js";

export interface MariaInstallOptions {
  data?: "plaintext" | "encrypted";
  /** build id check of the loaded UDF library (default: compare with the sources) */
  udfBuildId?: string;
}

type Row = Record<string, unknown>;

async function rows(c: Connection, sql: string, params: unknown[] = []): Promise<Row[]> {
  const [r] = await c.query(sql, params);
  return r as Row[];
}

async function step(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof PluginError) throw e;
    throw new PluginError("DB", `${what}: ${(e as Error).message}`);
  }
}

const BUNDLE = (db: string): string => `(SELECT bundle FROM ${bq(db)}.smgate_key_bundle WHERE id = 1)`;

async function supportObjects(c: Connection, db: string, bundle: string): Promise<void> {
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${bq(db)}.smgate_key_bundle (id INT PRIMARY KEY, bundle TEXT CHARACTER SET ascii NOT NULL,
      created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
  );
  await c.query(`REPLACE INTO ${bq(db)}.smgate_key_bundle (id, bundle) VALUES (1, ?)`, [bundle]);
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${bq(db)}.smgate_installed_tables (table_name VARCHAR(64) PRIMARY KEY, base_name VARCHAR(64) NOT NULL,
      spec LONGTEXT NOT NULL, installed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
  );
  await c.query(
    `CREATE OR REPLACE FUNCTION ${bq(db)}.smgate_session_token() RETURNS TEXT CHARSET ascii NOT DETERMINISTIC NO SQL RETURN @smgate_token`,
  );
}

async function columnsOf(c: Connection, db: string, table: string): Promise<MariaColumn[]> {
  const r = await rows(
    c,
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS columnType, DATA_TYPE AS dataType, CHARACTER_SET_NAME AS cs,
            COLLATION_NAME AS coll, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS dflt, EXTRA AS extra
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [db, table],
  );
  return r.map((x) => ({
    name: String(x.name),
    columnType: String(x.columnType),
    dataType: String(x.dataType).toLowerCase(),
    charset: x.cs ? String(x.cs) : undefined,
    collation: x.coll ? String(x.coll) : undefined,
    nullable: x.nullable === "YES",
    dflt: x.dflt === null || x.dflt === undefined ? undefined : String(x.dflt),
    autoIncrement: /auto_increment/i.test(String(x.extra)),
  }));
}

function findColumn(cols: MariaColumn[], name: string, where: string): MariaColumn {
  const col = cols.find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!col) throw new PluginError("BAD_POLICY", `${where}: column "${name}" named by the policy does not exist`);
  return col;
}

function fpeArgs(p: ColumnPlan): string {
  const n = (v: number | undefined): string => (v === undefined ? "NULL" : String(v));
  return `${mlit(p.key)}, ${mlit(p.ad)}, ${mlit(p.format ?? "")}, ${n(p.keepPrefix)}, ${n(p.keepSuffix)}, ${n(p.width)}`;
}

async function installTable(
  c: Connection,
  t: TablePlan,
  opts: MariaInstallOptions,
  report: InstallReport,
): Promise<void> {
  const db = t.schema;
  const where = `${db}.${t.table}`;
  const tbl = `${bq(db)}.${bq(t.table)}`;
  const kind = await rows(
    c,
    "SELECT TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
    [db, t.table],
  );
  if (kind.length === 0) throw new PluginError("BAD_POLICY", `table ${where} named by the policy does not exist`);
  const done = await rows(c, `SELECT 1 FROM ${bq(db)}.smgate_installed_tables WHERE table_name = ?`, [t.table]);
  if (done.length > 0) {
    report.skipped.push(`${where} (already installed)`);
    return;
  }
  if (kind[0].k !== "BASE TABLE") throw new PluginError("UNSUPPORTED", `${where} is not a base table`);
  const base = `${t.table}_enc`;
  const clash = await rows(c, "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", [
    db,
    base,
  ]);
  if (clash.length > 0) throw new PluginError("UNSUPPORTED", `${db}.${base} already exists; rename it first`);
  const cols = await columnsOf(c, db, t.table);
  const pk = (
    await rows(
      c,
      `SELECT COLUMN_NAME AS n FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
      [db, t.table],
    )
  ).map((r) => String(r.n));
  const rowKey = (t.rowKey ?? []).map((n) => findColumn(cols, n, where).name);
  const created: string[] = [];
  for (const p of t.columns) {
    const col = findColumn(cols, p.column, where);
    col.plan = p;
    if (p.protect !== "mac" && (pk.includes(col.name) || rowKey.includes(col.name))) {
      throw new PluginError(
        "UNSUPPORTED",
        `${where}: key / row_key column "${col.name}" cannot be encrypted in MariaDB plugin mode`,
      );
    }
    for (const companion of [p.bidxColumn, p.macColumn]) {
      if (!companion || cols.some((x) => x.name.toLowerCase() === companion.toLowerCase())) continue;
      if (opts.data === "encrypted") {
        throw new PluginError(
          "BAD_POLICY",
          `${where}: companion column "${companion}" is missing but --data encrypted says values are already stored`,
        );
      }
      await step(`${where}: add ${companion}`, () =>
        c.query(`ALTER TABLE ${tbl} ADD COLUMN ${bq(companion)} VARBINARY(16) NULL`),
      );
      created.push(companion);
    }
  }
  const protectedCols = cols.filter((x) => x.plan);
  if (opts.data !== "encrypted") {
    const sets: string[] = [];
    const rk = rowKey.length === 0 ? "''" : `smgate_row_key(${rowKey.map((n) => `CAST(${bq(n)} AS CHAR)`).join(", ")})`;
    for (const col of protectedCols) {
      const p = col.plan as ColumnPlan;
      const v = `CAST(${bq(col.name)} AS CHAR)`;
      if (p.bidxColumn)
        sets.push(`${bq(p.bidxColumn)} = smgate_blind_index(${v}, ${mlit(p.key)}, @smgate_token, ${BUNDLE(db)})`);
      if (p.macColumn)
        sets.push(
          `${bq(p.macColumn)} = smgate_mac(${v}, ${mlit(p.key)}, ${mlit(p.ad)}, ${rk}, @smgate_token, ${BUNDLE(db)})`,
        );
    }
    if (sets.length > 0)
      await step(`${where}: compute blind indexes / MACs`, () => c.query(`UPDATE ${tbl} SET ${sets.join(", ")}`));
    for (const col of protectedCols) {
      const p = col.plan as ColumnPlan;
      const name = bq(col.name);
      if (p.protect === "encrypt") {
        const fn = p.mode === "deterministic" ? "smgate_encrypt_det" : "smgate_encrypt";
        await step(`${where}: convert ${col.name} to LONGTEXT`, () =>
          c.query(
            `ALTER TABLE ${tbl} MODIFY ${name} LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin ${col.nullable ? "NULL" : "NOT NULL"}`,
          ),
        );
        await step(`${where}: encrypt ${col.name}`, () =>
          c.query(
            `UPDATE ${tbl} SET ${name} = ${fn}(${name}, ${mlit(p.key)}, ${mlit(p.ad)}, @smgate_token, ${BUNDLE(db)}) WHERE ${name} IS NOT NULL`,
          ),
        );
      } else if (p.protect === "fpe") {
        await step(`${where}: encrypt ${col.name}`, () =>
          c.query(
            `UPDATE ${tbl} SET ${name} = smgate_fpe_encrypt(CAST(${name} AS CHAR), ${fpeArgs(p)}, @smgate_token, ${BUNDLE(db)}) WHERE ${name} IS NOT NULL`,
          ),
        );
      }
    }
  }
  const grants = await rows(
    c,
    "SELECT GRANTEE AS g, PRIVILEGE_TYPE AS p FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
    [db, t.table],
  );
  const spec: MariaInstalledSpec = {
    version: MARIADB_SPEC_VERSION,
    base,
    key: pk,
    rowKey,
    dataRewritten: opts.data !== "encrypted",
    createdColumns: created,
    columns: cols.filter((x) => !t.columns.some((p) => p.bidxColumn === x.name || p.macColumn === x.name)),
  };
  await step(`${where}: rename to ${base}`, () => c.query(`RENAME TABLE ${tbl} TO ${bq(db)}.${bq(base)}`));
  for (const stmt of triggerSql(db, spec)) await step(`${where}: create trigger`, () => c.query(stmt));
  await step(`${where}: create view`, () => c.query(createViewSql(db, t.table, spec)));
  for (const g of grants) {
    const p = String(g.p);
    if (!["SELECT", "INSERT", "UPDATE", "DELETE"].includes(p)) continue;
    await step(`${where}: grant ${p}`, async () => {
      await c.query(`GRANT ${p} ON ${tbl} TO ${String(g.g)}`);
      await c.query(`GRANT ${p} ON ${bq(db)}.${bq(base)} TO ${String(g.g)}`);
    });
  }
  await c.query(`INSERT INTO ${bq(db)}.smgate_installed_tables (table_name, base_name, spec) VALUES (?, ?, ?)`, [
    t.table,
    base,
    JSON.stringify(spec),
  ]);
  report.installed.push(where);
}

export async function installMariadb(
  c: Connection,
  plan: InstallPlan,
  bundle: string,
  token: string,
  opts: MariaInstallOptions = {},
): Promise<InstallReport> {
  const report: InstallReport = { installed: [], skipped: [], warnings: [] };
  await step("register UDFs", () => installMariadbUdfs(c, opts.udfBuildId));
  await c.query("SET @smgate_token = ?", [token]);
  try {
    for (const db of new Set(plan.tables.map((t) => t.schema)))
      await step(`${db}: support objects`, () => supportObjects(c, db, bundle));
    for (const t of plan.tables) await installTable(c, t, opts, report);
  } finally {
    await c.query("SET @smgate_token = NULL");
  }
  if (plan.allowedRoles.length > 0) {
    report.warnings.push(
      "MariaDB has no role gate inside UDFs: sessions that SET @smgate_token get plaintext; keep the token with the application",
    );
  }
  return report;
}

export interface MariaUninstallOptions {
  keepEncrypted?: boolean;
  only?: string[];
}

/** Reverses installMariadb in database `db`: view and triggers dropped, values decrypted, table restored. */
export async function uninstallMariadb(
  c: Connection,
  db: string,
  token: string | undefined,
  opts: MariaUninstallOptions = {},
): Promise<string[]> {
  const has = await rows(
    c,
    "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'smgate_installed_tables'",
    [db],
  );
  if (has.length === 0) throw new PluginError("NOT_INSTALLED", `smgate is not installed in database ${db}`);
  const installed = await rows(
    c,
    `SELECT table_name AS t, base_name AS b, spec FROM ${bq(db)}.smgate_installed_tables ORDER BY table_name`,
  );
  const todo = installed.filter(
    (r) => !opts.only || opts.only.map((x) => x.toLowerCase()).includes(`${db}.${String(r.t)}`.toLowerCase()),
  );
  const done: string[] = [];
  if (
    !opts.keepEncrypted &&
    !token &&
    todo.some((r) => (JSON.parse(String(r.spec)) as MariaInstalledSpec).dataRewritten)
  ) {
    throw new PluginError(
      "BAD_TOKEN",
      "uninstall decrypts the data back and needs the session token (or use --keep-encrypted)",
    );
  }
  if (token) await c.query("SET @smgate_token = ?", [token]);
  try {
    if (token && !opts.keepEncrypted) {
      // opens the bundle: a wrong token fails here, before anything is dropped
      await step("check the session token", () =>
        c.query(
          `SELECT smgate_row_key('') AS k, smgate_mac_verify('', '', '', '', '', @smgate_token, ${BUNDLE(db)}) AS v`,
        ),
      );
    }
    for (const r of todo) {
      const table = String(r.t);
      const spec = JSON.parse(String(r.spec)) as MariaInstalledSpec;
      const base = `${bq(db)}.${bq(spec.base)}`;
      const where = `${db}.${table}`;
      // view and triggers first: the BEFORE UPDATE trigger would re-encrypt decrypted values
      await step(`${where}: drop view`, () => c.query(`DROP VIEW IF EXISTS ${bq(db)}.${bq(table)}`));
      await c.query(`DROP TRIGGER IF EXISTS ${bq(db)}.${bq(`${spec.base}_smgate_bi`)}`);
      await c.query(`DROP TRIGGER IF EXISTS ${bq(db)}.${bq(`${spec.base}_smgate_bu`)}`);
      if (!opts.keepEncrypted && spec.dataRewritten) {
        for (const col of spec.columns) {
          const p = col.plan;
          if (!p || p.protect === "mac") continue;
          const name = bq(col.name);
          const expr =
            p.protect === "encrypt"
              ? `smgate_decrypt(${name}, ${mlit(p.ad)}, @smgate_token, ${BUNDLE(db)})`
              : `smgate_fpe_decrypt(CAST(${name} AS CHAR), ${fpeArgs(p)}, @smgate_token, ${BUNDLE(db)})`;
          if (p.protect === "encrypt" && isTextLike(col)) {
            await step(`${where}: widen ${col.name}`, () =>
              c.query(`ALTER TABLE ${base} MODIFY ${name} LONGBLOB ${col.nullable ? "NULL" : "NOT NULL"}`),
            );
          }
          await step(`${where}: decrypt ${col.name}`, () =>
            c.query(`UPDATE ${base} SET ${name} = ${expr} WHERE ${name} IS NOT NULL`),
          );
          if (p.protect === "encrypt") {
            await step(`${where}: restore type of ${col.name}`, () =>
              c.query(`ALTER TABLE ${base} MODIFY ${name} ${originalDefinition(col)}`),
            );
          }
        }
        for (const extra of spec.createdColumns)
          await step(`${where}: drop ${extra}`, () => c.query(`ALTER TABLE ${base} DROP COLUMN ${bq(extra)}`));
      }
      await step(`${where}: rename back`, () => c.query(`RENAME TABLE ${base} TO ${bq(db)}.${bq(table)}`));
      await c.query(`DELETE FROM ${bq(db)}.smgate_installed_tables WHERE table_name = ?`, [table]);
      done.push(where);
    }
  } finally {
    await c.query("SET @smgate_token = NULL");
  }
  const left = await rows(c, `SELECT count(*) AS n FROM ${bq(db)}.smgate_installed_tables`);
  if (Number(left[0].n) === 0) {
    await c.query(`DROP TABLE ${bq(db)}.smgate_installed_tables, ${bq(db)}.smgate_key_bundle`);
    await c.query(`DROP FUNCTION IF EXISTS ${bq(db)}.smgate_session_token`);
  }
  return done;
}
