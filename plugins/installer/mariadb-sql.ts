// SQL text generated for an installed MariaDB table: the read view with the original name (decrypts for
// sessions that SET @smgate_token; others see stored ciphertext for text columns, NULL for other types) and the
// BEFORE INSERT/UPDATE triggers on the renamed base table that encrypt plaintext writes. MariaDB views with
// function columns are not insertable and their function columns not updatable, so protected columns are
// written through <table>_enc (docs/PLUGINS.md, limits).
import type { ColumnPlan } from "./plan.js";

export const MARIADB_SPEC_VERSION = 1;

export interface MariaColumn {
  name: string;
  /** COLUMN_TYPE, e.g. "decimal(10,2)", "varchar(40)", "int(11) unsigned" */
  columnType: string;
  /** DATA_TYPE, e.g. "decimal" */
  dataType: string;
  charset?: string;
  collation?: string;
  nullable: boolean;
  /** COLUMN_DEFAULT as information_schema gives it (literals quoted), undefined when none */
  dflt?: string;
  autoIncrement: boolean;
  plan?: ColumnPlan;
}

export interface MariaInstalledSpec {
  version: number;
  base: string;
  key: string[];
  rowKey: string[];
  dataRewritten: boolean;
  createdColumns: string[];
  columns: MariaColumn[];
}

/** Quoted identifier / string literal. */
export const bq = (id: string): string => `\`${id.replace(/`/g, "``")}\``;
export const mlit = (s: string): string => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;

const TEXT_TYPES = new Set(["char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"]);
const BINARY_TYPES = new Set(["binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"]);

export function isTextLike(c: MariaColumn): boolean {
  return TEXT_TYPES.has(c.dataType);
}

/** Converts a UDF result (binary string) back to the column's type for the view. */
export function castBack(c: MariaColumn, expr: string): string {
  const dt = c.dataType;
  if (TEXT_TYPES.has(dt)) return `CONVERT(${expr} USING ${c.charset ?? "utf8mb4"})`;
  if (BINARY_TYPES.has(dt)) return expr;
  if (/int$/.test(dt)) return `CAST(${expr} AS ${/unsigned/.test(c.columnType) ? "UNSIGNED" : "SIGNED"})`;
  if (dt === "decimal") return `CAST(${expr} AS ${c.columnType.replace(/\s*unsigned|\s*zerofill/g, "").toUpperCase()})`;
  if (dt === "float" || dt === "double") return `CAST(${expr} AS DOUBLE)`;
  if (dt === "date") return `CAST(${expr} AS DATE)`;
  const frac = /\((\d)\)/.exec(c.columnType)?.[1];
  if (dt === "datetime" || dt === "timestamp") return `CAST(${expr} AS DATETIME${frac ? `(${frac})` : ""})`;
  if (dt === "time") return `CAST(${expr} AS TIME${frac ? `(${frac})` : ""})`;
  return `CONVERT(${expr} USING utf8mb4)`;
}

// The session token reaches the view through a derived table inside a scalar subquery: a stored function call
// placed directly among a UDF's arguments in a view corrupts the other arguments' values in MariaDB 10.11
// (measured: smgate_decrypt saw a wrong envelope), while the materialised derived table is evaluated apart.
const TOKEN = (db: string): string =>
  `(SELECT smgate_t.tok FROM (SELECT ${bq(db)}.smgate_session_token() AS tok) AS smgate_t)`;
const BUNDLE = (db: string): string => `(SELECT bundle FROM ${bq(db)}.smgate_key_bundle WHERE id = 1)`;
const textOf = (expr: string): string => `CAST(${expr} AS CHAR)`;

function fpeArgs(p: ColumnPlan): string {
  const n = (v: number | undefined): string => (v === undefined ? "NULL" : String(v));
  return `${mlit(p.key)}, ${mlit(p.ad)}, ${mlit(p.format ?? "")}, ${n(p.keepPrefix)}, ${n(p.keepSuffix)}, ${n(p.width)}`;
}

function rowKey(names: string[], ref: (n: string) => string): string {
  return names.length === 0 ? "''" : `smgate_row_key(${names.map((n) => textOf(ref(n))).join(", ")})`;
}

function readExpr(db: string, spec: MariaInstalledSpec, c: MariaColumn): string {
  const p = c.plan;
  const col = `b.${bq(c.name)}`;
  if (!p) return col;
  const tok = TOKEN(db);
  const bun = BUNDLE(db);
  if (p.protect === "encrypt") {
    const dec = castBack(c, `smgate_decrypt(${col}, ${mlit(p.ad)}, ${tok}, ${bun})`);
    return `IF(${tok} IS NULL, ${isTextLike(c) ? col : "NULL"}, ${dec})`;
  }
  if (p.protect === "fpe") {
    return `IF(${tok} IS NULL, ${col}, ${castBack(c, `smgate_fpe_decrypt(${textOf(col)}, ${fpeArgs(p)}, ${tok}, ${bun})`)})`;
  }
  const verify = `smgate_mac_verify(${textOf(col)}, b.${bq(p.macColumn as string)}, ${mlit(p.key)}, ${mlit(p.ad)}, ${rowKey(spec.rowKey, (n) => `b.${bq(n)}`)}, ${tok}, ${bun}) = 1`;
  const check =
    p.onIntegrityFailure === "error" ? `${verify} OR smgate_integrity_error(${mlit(p.ad)}) IS NULL` : "TRUE";
  return `CASE WHEN ${tok} IS NULL THEN ${col} WHEN ${check} THEN ${col} END`;
}

export function createViewSql(db: string, table: string, spec: MariaInstalledSpec): string {
  const cols = spec.columns.map((c) => `${readExpr(db, spec, c)} AS ${bq(c.name)}`);
  return `CREATE SQL SECURITY DEFINER VIEW ${bq(db)}.${bq(table)} AS SELECT\n  ${cols.join(",\n  ")}\nFROM ${bq(db)}.${bq(spec.base)} AS b`;
}

function encryptStmt(c: MariaColumn): string {
  const p = c.plan as ColumnPlan;
  const v = `NEW.${bq(c.name)}`;
  if (p.protect === "encrypt") {
    const fn = p.mode === "deterministic" ? "smgate_encrypt_det" : "smgate_encrypt";
    return `SET ${v} = ${fn}(${textOf(v)}, ${mlit(p.key)}, ${mlit(p.ad)}, @smgate_token, smgate_b);`;
  }
  return `SET ${v} = smgate_fpe_encrypt(${textOf(v)}, ${fpeArgs(p)}, @smgate_token, smgate_b);`;
}

function companionStmts(spec: MariaInstalledSpec, c: MariaColumn): string[] {
  const p = c.plan as ColumnPlan;
  const out: string[] = [];
  if (p.bidxColumn) {
    out.push(
      `SET NEW.${bq(p.bidxColumn)} = smgate_blind_index(${textOf(`NEW.${bq(c.name)}`)}, ${mlit(p.key)}, @smgate_token, smgate_b);`,
    );
  }
  if (p.macColumn) {
    out.push(
      `SET NEW.${bq(p.macColumn)} = smgate_mac(${textOf(`NEW.${bq(c.name)}`)}, ${mlit(p.key)}, ${mlit(p.ad)}, ${rowKey(spec.rowKey, (n) => `NEW.${bq(n)}`)}, @smgate_token, smgate_b);`,
    );
  }
  return out;
}

export function triggerSql(db: string, spec: MariaInstalledSpec): string[] {
  const base = `${bq(db)}.${bq(spec.base)}`;
  const declare = `DECLARE smgate_b TEXT DEFAULT ${BUNDLE(db)};`;
  const protectedCols = spec.columns.filter((c) => c.plan);
  const ins: string[] = [declare];
  // an AUTO_INCREMENT row key is not known in BEFORE INSERT: refuse instead of MACing a wrong row key
  for (const c of spec.columns) {
    if (c.autoIncrement && spec.rowKey.includes(c.name) && protectedCols.some((x) => x.plan?.macColumn)) {
      ins.push(
        `IF NEW.${bq(c.name)} IS NULL OR NEW.${bq(c.name)} = 0 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = ${mlit(`smgate: ${spec.base}.${c.name} is part of the integrity row key; give it explicitly (AUTO_INCREMENT values are not known to BEFORE INSERT triggers)`)}; END IF;`,
      );
    }
  }
  for (const c of protectedCols) ins.push(...companionStmts(spec, c));
  for (const c of protectedCols)
    if (c.plan?.protect !== "mac") ins.push(`IF NEW.${bq(c.name)} IS NOT NULL THEN ${encryptStmt(c)} END IF;`);
  const upd: string[] = [declare];
  for (const c of protectedCols) {
    const p = c.plan as ColumnPlan;
    const changed = `NOT (NEW.${bq(c.name)} <=> OLD.${bq(c.name)})`;
    if (p.protect === "mac") {
      const keyChanged = spec.rowKey.map((k) => ` OR NOT (NEW.${bq(k)} <=> OLD.${bq(k)})`).join("");
      upd.push(`IF ${changed}${keyChanged} THEN ${companionStmts(spec, c).join(" ")} END IF;`);
    } else {
      upd.push(
        `IF ${changed} THEN ${companionStmts(spec, c).join(" ")} IF NEW.${bq(c.name)} IS NOT NULL THEN ${encryptStmt(c)} END IF; END IF;`,
      );
    }
  }
  return [
    `CREATE TRIGGER ${bq(db)}.${bq(`${spec.base}_smgate_bi`)} BEFORE INSERT ON ${base} FOR EACH ROW BEGIN\n  ${ins.join("\n  ")}\nEND`,
    `CREATE TRIGGER ${bq(db)}.${bq(`${spec.base}_smgate_bu`)} BEFORE UPDATE ON ${base} FOR EACH ROW BEGIN\n  ${upd.join("\n  ")}\nEND`,
  ];
}

/** Column definition to restore on uninstall. */
export function originalDefinition(c: MariaColumn): string {
  const cs = c.charset ? ` CHARACTER SET ${c.charset}${c.collation ? ` COLLATE ${c.collation}` : ""}` : "";
  const dflt = c.dflt !== undefined && c.dflt !== "NULL" ? ` DEFAULT ${c.dflt}` : "";
  return `${c.columnType}${cs}${c.nullable ? " NULL" : " NOT NULL"}${dflt}`;
}
