// `smgate plugin install|uninstall` for PostgreSQL: installs the smgate extension and the encrypted key
// bundle, then for each protected table: encrypts existing values in place (unless they are already stored
// encrypted), renames the table to <table>_enc and creates a view with the original name that decrypts for
// sessions holding the keys, plus an INSTEAD OF trigger that encrypts writes. Everything runs in one
// transaction; uninstall decrypts back and restores the original table.
import type pg from "pg";
import { PluginError } from "./errors.js";
import {
  type BaseColumn,
  createViewSql,
  fpeArgs,
  type InstalledSpec,
  lit,
  PG_VALUE_TYPES,
  q,
  SPEC_VERSION,
  writeTriggerSql,
} from "./pg-sql.js";
import type { ColumnPlan, InstallPlan, TablePlan } from "./plan.js";

export interface PgInstallOptions {
  /** "plaintext" (default): existing values are encrypted in place; "encrypted": already stored by smgate. */
  data?: "plaintext" | "encrypted";
}

export interface InstallReport {
  installed: string[];
  skipped: string[];
  warnings: string[];
}

async function columnsOf(c: pg.Client, oid: number): Promise<BaseColumn[]> {
  const { rows } = await c.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typcategory AS category,
            pg_get_expr(d.adbin, d.adrelid) AS dflt, a.attnotnull AS notnull, a.attidentity AS identity,
            a.attgenerated AS generated
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [oid],
  );
  return rows.map((r) => ({
    name: r.name,
    type: r.type,
    textLike: r.category === "S",
    dflt: r.dflt ?? undefined,
    notNull: r.notnull,
    identity: r.identity || undefined,
    generated: r.generated !== "",
  }));
}

async function primaryKey(c: pg.Client, oid: number): Promise<string[]> {
  const { rows } = await c.query(
    `SELECT a.attname AS name FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos)
       JOIN pg_attribute a ON a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisprimary AND a.attrelid = $1 ORDER BY k.pos`,
    [oid],
  );
  return rows.map((r) => r.name);
}

async function relation(
  c: pg.Client,
  schema: string,
  name: string,
): Promise<{ oid: number; kind: string } | undefined> {
  const { rows } = await c.query(
    `SELECT c.oid::int AS oid, c.relkind AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, name],
  );
  return rows[0];
}

function findColumn(cols: BaseColumn[], name: string, where: string): BaseColumn {
  const col = cols.find((x) => x.name === name) ?? cols.find((x) => x.name.toLowerCase() === name);
  if (!col) throw new PluginError("BAD_POLICY", `${where}: column "${name}" named by the policy does not exist`);
  return col;
}

/** Text form of a column value, as the gateway encrypts it. */
const textOf = (expr: string): string => `(${expr})::text`;

function rowKeyExpr(names: string[], ref: (n: string) => string): string {
  return `smgate.smgate_row_key(VARIADIC ARRAY[${names.map((n) => textOf(ref(n))).join(", ")}]::text[])`;
}

async function installTable(c: pg.Client, t: TablePlan, opts: PgInstallOptions, report: InstallReport): Promise<void> {
  const where = `${t.schema}.${t.table}`;
  const rel = await relation(c, t.schema, t.table);
  if (!rel) throw new PluginError("BAD_POLICY", `table ${where} named by the policy does not exist`);
  const done = await c.query("SELECT 1 FROM smgate.installed_tables WHERE schema_name = $1 AND table_name = $2", [
    t.schema,
    t.table,
  ]);
  if (done.rowCount) {
    report.skipped.push(`${where} (already installed)`);
    return;
  }
  if (rel.kind !== "r" && rel.kind !== "p")
    throw new PluginError("UNSUPPORTED", `${where} is not a table (relkind ${rel.kind})`);
  const base = `${t.table}_enc`;
  if (await relation(c, t.schema, base))
    throw new PluginError("UNSUPPORTED", `${t.schema}.${base} already exists; rename it first`);
  const cols = await columnsOf(c, rel.oid);
  for (const col of cols) {
    if (!col.identity) continue;
    const seq = await c.query("SELECT pg_get_serial_sequence($1, $2) AS s", [`${q(t.schema)}.${q(t.table)}`, col.name]);
    if (seq.rows[0]?.s) col.dflt = `nextval(${lit(seq.rows[0].s)}::regclass)`;
  }
  const pk = await primaryKey(c, rel.oid);
  const key = pk.length > 0 ? pk : (t.rowKey ?? []);
  if (key.length === 0) {
    throw new PluginError(
      "NO_PRIMARY_KEY",
      `${where} has no primary key and the policy gives no row_key; the write trigger needs one to find rows`,
    );
  }
  for (const k of key) {
    const kc = findColumn(cols, k, where);
    if (t.columns.some((p) => p.column === kc.name.toLowerCase() && p.protect !== "mac")) {
      throw new PluginError("UNSUPPORTED", `${where}: key column "${kc.name}" cannot be encrypted in plugin mode`);
    }
  }
  const plans = new Map<string, ColumnPlan>();
  const created: string[] = [];
  const textCompanions: string[] = [];
  for (const p of t.columns) {
    const col = findColumn(cols, p.column, where);
    plans.set(col.name, p);
    for (const companion of [p.bidxColumn, p.macColumn]) {
      if (!companion) continue;
      const existing = cols.find((x) => x.name === companion);
      if (existing?.textLike) textCompanions.push(companion);
      if (!existing) {
        if (opts.data === "encrypted") {
          throw new PluginError(
            "BAD_POLICY",
            `${where}: companion column "${companion}" is missing but --data encrypted says values are already stored`,
          );
        }
        await c.query(`ALTER TABLE ${q(t.schema)}.${q(t.table)} ADD COLUMN ${q(companion)} bytea`);
        created.push(companion);
      }
    }
  }
  const tbl = `${q(t.schema)}.${q(t.table)}`;
  const rowKeyNames = (t.rowKey ?? []).map((n) => findColumn(cols, n, where).name);
  if (opts.data !== "encrypted") {
    // MACs and blind indexes first, from the plaintext values; then encrypt in place
    const sets: string[] = [];
    for (const [name, p] of plans) {
      if (p.bidxColumn) sets.push(`${q(p.bidxColumn)} = smgate.smgate_blind_index(${textOf(q(name))}, ${lit(p.key)})`);
      if (p.macColumn) {
        sets.push(
          `${q(p.macColumn)} = smgate.smgate_mac(${textOf(q(name))}, ${lit(p.key)}, ${lit(p.ad)}, ${rowKeyExpr(rowKeyNames, q)})`,
        );
      }
    }
    if (sets.length > 0) await c.query(`UPDATE ${tbl} SET ${sets.join(", ")}`);
    for (const [name, p] of plans) {
      const col = cols.find((x) => x.name === name) as BaseColumn;
      if (p.protect === "encrypt") {
        const fn = p.mode === "deterministic" ? "smgate_encrypt_det" : "smgate_encrypt";
        if (col.dflt !== undefined) await c.query(`ALTER TABLE ${tbl} ALTER COLUMN ${q(name)} DROP DEFAULT`);
        await c.query(
          `ALTER TABLE ${tbl} ALTER COLUMN ${q(name)} TYPE text USING smgate.${fn}(${textOf(q(name))}, ${lit(p.key)}, ${lit(p.ad)})`,
        );
      } else if (p.protect === "fpe") {
        await c.query(
          `UPDATE ${tbl} SET ${q(name)} = smgate.smgate_fpe_encrypt(${textOf(q(name))}, ${fpeArgs(p)})::${col.type}`,
        );
      }
    }
  }
  // grants on the original table are copied to the view
  const grants = await c.query(
    `SELECT grantee, privilege_type FROM information_schema.role_table_grants
      WHERE table_schema = $1 AND table_name = $2 AND grantee <> (SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = $2)`,
    [t.schema, t.table],
  );
  await c.query(`ALTER TABLE ${tbl} RENAME TO ${q(base)}`);
  const spec: InstalledSpec = {
    version: SPEC_VERSION,
    base,
    key,
    rowKey: rowKeyNames,
    dataRewritten: opts.data !== "encrypted",
    createdColumns: created,
    columns: cols
      .filter((x) => !t.columns.some((p) => p.bidxColumn === x.name || p.macColumn === x.name))
      .map((x) => {
        const plan = plans.get(x.name);
        // values already stored by smgate in a text column: the view presents the policy's `type:`
        const vt =
          plan && opts.data === "encrypted" && plan.protect === "encrypt" && x.textLike
            ? PG_VALUE_TYPES[plan.valueType]
            : undefined;
        return vt && vt !== "text" ? { ...x, type: vt, textLike: false, plan } : { ...x, plan };
      }),
    textCompanions,
  };
  for (const stmt of createViewSql(t.schema, t.table, spec)) await c.query(stmt);
  for (const stmt of writeTriggerSql(t.schema, t.table, spec)) await c.query(stmt);
  for (const g of grants.rows) {
    if (["SELECT", "INSERT", "UPDATE", "DELETE"].includes(g.privilege_type)) {
      await c.query(`GRANT ${g.privilege_type} ON ${tbl} TO ${g.grantee === "PUBLIC" ? "PUBLIC" : q(g.grantee)}`);
    }
  }
  await c.query(
    "INSERT INTO smgate.installed_tables (schema_name, table_name, base_name, spec) VALUES ($1, $2, $3, $4)",
    [t.schema, t.table, base, JSON.stringify(spec)],
  );
  report.installed.push(where);
}

/** Installs the extension, key bundle, role gate and the per-table views/triggers of the plan. */
export async function installPostgres(
  c: pg.Client,
  plan: InstallPlan,
  bundle: string,
  token: string,
  opts: PgInstallOptions = {},
): Promise<InstallReport> {
  const report: InstallReport = { installed: [], skipped: [], warnings: [] };
  await c.query("BEGIN");
  try {
    await c.query("CREATE EXTENSION IF NOT EXISTS smgate");
    await c.query(
      "INSERT INTO smgate.key_bundle (id, bundle) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET bundle = EXCLUDED.bundle, created_at = now()",
      [bundle],
    );
    for (const role of plan.allowedRoles) {
      const exists = await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
      if (!exists.rowCount) {
        report.warnings.push(
          `role "${role}" from the policy does not exist in the database; not added to smgate.allowed_roles`,
        );
        continue;
      }
      await c.query("INSERT INTO smgate.allowed_roles (role_name) VALUES ($1) ON CONFLICT DO NOTHING", [role]);
    }
    await c.query("SELECT smgate.smgate_load_keys($1)", [token]);
    for (const t of plan.tables) await installTable(c, t, opts, report);
    await c.query("SELECT smgate.smgate_unload_keys()");
    await c.query("COMMIT");
  } catch (e) {
    await c.query("ROLLBACK").catch(() => undefined);
    if (e instanceof PluginError) throw e;
    throw new PluginError("DB", `plugin install failed and was rolled back: ${(e as Error).message}`);
  }
  return report;
}

export interface PgUninstallOptions {
  /** leave values encrypted in the restored table (for handing the data to the gateway) */
  keepEncrypted?: boolean;
  /** keep the extension (and key bundle) even when no table remains installed */
  keepExtension?: boolean;
  /** only these "schema.table" names (default: all installed) */
  only?: string[];
}

/** Reverses installPostgres: drops views and triggers, decrypts values back, restores names and types. */
export async function uninstallPostgres(
  c: pg.Client,
  token: string | undefined,
  opts: PgUninstallOptions = {},
): Promise<string[]> {
  const done: string[] = [];
  await c.query("BEGIN");
  try {
    const ext = await c.query("SELECT 1 FROM pg_extension WHERE extname = 'smgate'");
    if (!ext.rowCount) throw new PluginError("NOT_INSTALLED", "the smgate extension is not installed in this database");
    const { rows } = await c.query(
      "SELECT schema_name, table_name, base_name, spec FROM smgate.installed_tables ORDER BY 1, 2",
    );
    const todo = rows.filter(
      (r) => !opts.only || opts.only.map((x) => x.toLowerCase()).includes(`${r.schema_name}.${r.table_name}`),
    );
    const needKeys = !opts.keepEncrypted && todo.some((r) => (r.spec as InstalledSpec).dataRewritten);
    if (needKeys) {
      if (!token)
        throw new PluginError(
          "BAD_TOKEN",
          "uninstall decrypts the data back and needs the session token (or use --keep-encrypted)",
        );
      await c.query("SELECT smgate.smgate_load_keys($1)", [token]);
    }
    for (const r of todo) {
      const spec = r.spec as InstalledSpec;
      const s = q(r.schema_name);
      const view = `${s}.${q(r.table_name)}`;
      const base = `${s}.${q(r.base_name)}`;
      await c.query(`DROP VIEW ${view}`);
      await c.query(`DROP FUNCTION ${s}.${q(`${r.table_name}_smgate_write`)}()`);
      if (!opts.keepEncrypted && spec.dataRewritten) {
        for (const col of spec.columns) {
          const p = col.plan;
          if (!p) continue;
          if (p.protect === "encrypt") {
            await c.query(
              `ALTER TABLE ${base} ALTER COLUMN ${q(col.name)} TYPE ${col.type} USING smgate.smgate_decrypt(${q(col.name)}, ${lit(p.ad)})::${col.type}`,
            );
            if (col.dflt !== undefined)
              await c.query(`ALTER TABLE ${base} ALTER COLUMN ${q(col.name)} SET DEFAULT ${col.dflt}`);
          } else if (p.protect === "fpe") {
            await c.query(
              `UPDATE ${base} SET ${q(col.name)} = smgate.smgate_fpe_decrypt(${textOf(q(col.name))}, ${fpeArgs(p)})::${col.type}`,
            );
          }
        }
        for (const extra of spec.createdColumns) await c.query(`ALTER TABLE ${base} DROP COLUMN ${q(extra)}`);
      }
      await c.query(`ALTER TABLE ${base} RENAME TO ${q(r.table_name)}`);
      await c.query("DELETE FROM smgate.installed_tables WHERE schema_name = $1 AND table_name = $2", [
        r.schema_name,
        r.table_name,
      ]);
      done.push(`${r.schema_name}.${r.table_name}`);
    }
    if (needKeys) await c.query("SELECT smgate.smgate_unload_keys()");
    const left = await c.query("SELECT count(*)::int AS n FROM smgate.installed_tables");
    if (left.rows[0].n === 0 && !opts.keepExtension) await c.query("DROP EXTENSION smgate");
    await c.query("COMMIT");
  } catch (e) {
    await c.query("ROLLBACK").catch(() => undefined);
    if (e instanceof PluginError) throw e;
    throw new PluginError("DB", `plugin uninstall failed and was rolled back: ${(e as Error).message}`);
  }
  return done;
}
