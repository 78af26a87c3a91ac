// SQL text generated for an installed PostgreSQL table: the view with the original name (decrypts for sessions
// that pass smgate's role gate with keys loaded; others see the stored ciphertext for text columns and NULL
// for other types) and the INSTEAD OF trigger that encrypts INSERT/UPDATE values and maps DELETE to the base.
import type { ColumnPlan } from "./plan.js";

export const SPEC_VERSION = 1;

export interface BaseColumn {
  name: string;
  /** format_type() of the original column, e.g. "character varying(40)" */
  type: string;
  textLike: boolean;
  dflt?: string;
  notNull: boolean;
  identity?: "a" | "d";
  generated: boolean;
}

export interface InstalledSpec {
  version: number;
  base: string;
  /** columns identifying a row for UPDATE/DELETE (primary key, else policy row_key) */
  key: string[];
  /** policy row_key columns (for integrity MACs) */
  rowKey: string[];
  dataRewritten: boolean;
  /** companion columns the installer added (dropped again by uninstall) */
  createdColumns: string[];
  /** view columns in table order (companion columns excluded) */
  columns: (BaseColumn & { plan?: ColumnPlan })[];
  /** companion columns of a text type: they hold base64url (no padding), as the gateway writes them */
  textCompanions?: string[];
}

/** PostgreSQL type for a policy `type:` (used when the stored column is text and the values already encrypted). */
export const PG_VALUE_TYPES: Record<string, string> = {
  text: "text",
  integer: "integer",
  smallint: "smallint",
  bigint: "bigint",
  numeric: "numeric",
  decimal: "numeric",
  real: "real",
  double: "double precision",
  date: "date",
  time: "time",
  timestamp: "timestamp",
  timestamptz: "timestamptz",
  datetime: "timestamp",
  boolean: "boolean",
  json: "json",
  jsonb: "jsonb",
  uuid: "uuid",
};

/** bytea → companion column value (base64url text for text columns). */
function toCompanion(spec: InstalledSpec, column: string, expr: string): string {
  return spec.textCompanions?.includes(column) ? `rtrim(translate(encode(${expr}, 'base64'), '+/', '-_'), '=')` : expr;
}

/** companion column value → bytea. */
function fromCompanion(spec: InstalledSpec, column: string, expr: string): string {
  return spec.textCompanions?.includes(column)
    ? `decode(rpad(translate(${expr}, '-_', '+/'), 24, '='), 'base64')`
    : expr;
}

/** Quoted SQL identifier / string literal (installer-controlled names and policy strings). */
export const q = (id: string): string => `"${id.replace(/"/g, '""')}"`;
export const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const READY = "(SELECT smgate.smgate_session_ready())";

export function fpeArgs(p: ColumnPlan): string {
  const n = (v: number | undefined): string => (v === undefined ? "NULL" : String(v));
  return `${lit(p.key)}, ${lit(p.ad)}, ${lit(p.format ?? "")}, ${n(p.keepPrefix)}, ${n(p.keepSuffix)}, ${n(p.width)}`;
}

/** Type of the view column: text-like columns become text (envelopes are longer than a varchar(n) limit). */
export function viewType(c: BaseColumn & { plan?: ColumnPlan }): string {
  return c.plan?.protect === "encrypt" && c.textLike ? "text" : c.type;
}

function rowKey(names: string[], ref: (n: string) => string): string {
  return `smgate.smgate_row_key(VARIADIC ARRAY[${names.map((n) => `(${ref(n)})::text`).join(", ")}]::text[])`;
}

/** Plaintext expression of each column as the view shows it to a session holding the keys. */
function readExpr(spec: InstalledSpec, c: BaseColumn & { plan?: ColumnPlan }): string {
  const p = c.plan;
  const col = `b.${q(c.name)}`;
  if (!p) return col;
  const t = viewType(c);
  if (p.protect === "encrypt") {
    return `CASE WHEN ${READY} THEN smgate.smgate_decrypt(${col}, ${lit(p.ad)})::${t} ELSE ${c.textLike ? `${col}::text` : `NULL::${t}`} END`;
  }
  if (p.protect === "fpe") {
    return `CASE WHEN ${READY} THEN smgate.smgate_fpe_decrypt((${col})::text, ${fpeArgs(p)})::${t} ELSE ${col} END`;
  }
  // mac: the value is stored in clear; it is shown only when its MAC verifies (or the session has no keys)
  const byName = new Map(spec.columns.map((x) => [x.name, x]));
  const ref = (n: string): string => {
    const rc = byName.get(n);
    return rc?.plan && rc.plan.protect !== "mac" ? readExpr(spec, rc) : `b.${q(n)}`;
  };
  return `CASE WHEN NOT ${READY} THEN ${col}
    WHEN smgate.smgate_mac_verify((${col})::text, ${fromCompanion(spec, p.macColumn as string, `b.${q(p.macColumn as string)}`)}, ${lit(p.key)}, ${lit(p.ad)}, ${rowKey(spec.rowKey, ref)}) THEN ${col}
    WHEN smgate.smgate_integrity_failure(${lit(p.ad)}, ${lit(p.onIntegrityFailure)}) THEN ${col} END`;
}

export function createViewSql(schema: string, table: string, spec: InstalledSpec): string[] {
  const view = `${q(schema)}.${q(table)}`;
  const cols = spec.columns.map((c) => `${readExpr(spec, c)} AS ${q(c.name)}`);
  const out = [`CREATE VIEW ${view} AS SELECT\n  ${cols.join(",\n  ")}\nFROM ${q(schema)}.${q(spec.base)} AS b`];
  for (const c of spec.columns) {
    if (c.dflt !== undefined) out.push(`ALTER VIEW ${view} ALTER COLUMN ${q(c.name)} SET DEFAULT ${c.dflt}`);
  }
  out.push(
    `COMMENT ON VIEW ${view} IS ${lit(`smgate plugin view over ${spec.base}; writes go through ${table}_smgate_write()`)}`,
  );
  return out;
}

/**
 * Text form of a written value as the base table would store it: cast to the original column type first, so
 * typmods apply (numeric(10,2) stores 7.5 as "7.50", the form MACs, indexes and ciphertexts are made of).
 */
function storedText(c: BaseColumn, v: string): string {
  return c.textLike ? `(${v})::text` : `((${v})::${c.type})::text`;
}

/** Stored value for a column from the trigger record `rec` (NEW). */
function storeExpr(c: BaseColumn & { plan?: ColumnPlan }, rec: string): string {
  const p = c.plan;
  const v = `${rec}.${q(c.name)}`;
  if (!p || p.protect === "mac") return v;
  if (p.protect === "encrypt") {
    const fn = p.mode === "deterministic" ? "smgate_encrypt_det" : "smgate_encrypt";
    return `smgate.${fn}(${storedText(c, v)}, ${lit(p.key)}, ${lit(p.ad)})`;
  }
  return `smgate.smgate_fpe_encrypt(${storedText(c, v)}, ${fpeArgs(p)})::${c.type}`;
}

function companions(spec: InstalledSpec, rec: string): { col: string; expr: string; source: string }[] {
  const out: { col: string; expr: string; source: string }[] = [];
  const byName = new Map(spec.columns.map((x) => [x.name, x]));
  const ref = (n: string): string => {
    const rc = byName.get(n);
    return rc && !rc.textLike ? `(${rec}.${q(n)})::${rc.type}` : `${rec}.${q(n)}`;
  };
  for (const c of spec.columns) {
    const p = c.plan;
    if (p?.bidxColumn) {
      out.push({
        col: p.bidxColumn,
        source: c.name,
        expr: toCompanion(
          spec,
          p.bidxColumn,
          `smgate.smgate_blind_index(${storedText(c, `${rec}.${q(c.name)}`)}, ${lit(p.key)})`,
        ),
      });
    }
    if (p?.macColumn) {
      out.push({
        col: p.macColumn,
        source: c.name,
        expr: toCompanion(
          spec,
          p.macColumn,
          `smgate.smgate_mac(${storedText(c, `${rec}.${q(c.name)}`)}, ${lit(p.key)}, ${lit(p.ad)}, ${rowKey(spec.rowKey, ref)})`,
        ),
      });
    }
  }
  return out;
}

export function writeTriggerSql(schema: string, table: string, spec: InstalledSpec): string[] {
  const fn = `${q(schema)}.${q(`${table}_smgate_write`)}`;
  const base = `${q(schema)}.${q(spec.base)}`;
  const writable = spec.columns.filter((c) => !c.generated);
  const comp = companions(spec, "NEW");
  const insCols = [...writable.map((c) => q(c.name)), ...comp.map((x) => q(x.col))];
  const insVals = [...writable.map((c) => storeExpr(c, "NEW")), ...comp.map((x) => x.expr)];
  const overriding = writable.some((c) => c.identity === "a") ? " OVERRIDING SYSTEM VALUE" : "";
  const sets = writable.map((c) =>
    c.plan && c.plan.protect !== "mac"
      ? `${q(c.name)} = CASE WHEN NEW.${q(c.name)} IS NOT DISTINCT FROM OLD.${q(c.name)} THEN ${q(c.name)} ELSE ${storeExpr(c, "NEW")} END`
      : `${q(c.name)} = NEW.${q(c.name)}`,
  );
  for (const x of comp) {
    const isBidx = spec.columns.some((c) => c.plan?.bidxColumn === x.col);
    sets.push(
      isBidx
        ? `${q(x.col)} = CASE WHEN NEW.${q(x.source)} IS NOT DISTINCT FROM OLD.${q(x.source)} THEN ${q(x.col)} ELSE ${x.expr} END`
        : `${q(x.col)} = ${x.expr}`,
    );
  }
  const match = spec.key.map((k) => `${q(k)} = OLD.${q(k)}`).join(" AND ");
  const body = `BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO ${base} (${insCols.join(", ")})${overriding}
    VALUES (${insVals.join(", ")});
    RETURN NEW;
  ELSIF TG_OP = 'UPDATE' THEN
    UPDATE ${base} SET ${sets.join(",\n      ")}
     WHERE ${match};
    IF NOT FOUND THEN RETURN NULL; END IF;
    RETURN NEW;
  ELSE
    DELETE FROM ${base} WHERE ${match};
    IF NOT FOUND THEN RETURN NULL; END IF;
    RETURN OLD;
  END IF;
END`;
  return [
    `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $smgate$\n${body}\n$smgate$`,
    `CREATE TRIGGER smgate_write INSTEAD OF INSERT OR UPDATE OR DELETE ON ${q(schema)}.${q(table)} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
  ];
}
