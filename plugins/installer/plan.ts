// Install plan: what `smgate plugin install` does per protected table, derived from the loaded policy
// (policy/policy-loader.ts): which columns get which transform under which key and AD, the companion columns,
// the row key, and which database roles may use the keys (the role gate).
import type { ColumnProtection, PolicyDoc } from "../../policy/policy-types.js";
import { PluginError } from "./errors.js";

export interface ColumnPlan {
  /** lower-cased column name (as the policy names it) */
  column: string;
  protect: "encrypt" | "fpe" | "mac";
  mode: "randomized" | "deterministic";
  key: string;
  /** lower("schema.table.column") */
  ad: string;
  format?: string;
  keepPrefix?: number;
  keepSuffix?: number;
  width?: number;
  bidxColumn?: string;
  macColumn?: string;
  onIntegrityFailure: "error" | "flag";
  /** policy `type:` of the value (how the plaintext is presented; default "text") */
  valueType: string;
}

export interface TablePlan {
  /** schema (PostgreSQL) or database (MariaDB) */
  schema: string;
  table: string;
  rowKey?: string[];
  columns: ColumnPlan[];
}

export interface InstallPlan {
  tables: TablePlan[];
  /** database roles/users given key use (role gate): policy users with plaintext access */
  allowedRoles: string[];
  /** every key name the plan uses */
  keyNames: string[];
}

function columnPlan(p: ColumnProtection): ColumnPlan {
  return {
    column: p.column,
    protect: p.protect,
    mode: p.mode ?? "randomized",
    key: p.key,
    ad: p.ad,
    format: p.format,
    keepPrefix: p.keep_prefix,
    keepSuffix: p.keep_suffix,
    width: p.width,
    bidxColumn: p.blind_index ? (p.bidxColumn ?? `${p.column}_bidx`) : undefined,
    macColumn: p.protect === "mac" ? (p.macColumn ?? `${p.column}_mac`) : undefined,
    onIntegrityFailure: p.on_integrity_failure ?? "error",
    valueType: p.type ?? "text",
  };
}

/** Builds the plan; `only` restricts it to some "schema.table" names. */
export function buildInstallPlan(policy: PolicyDoc, extraRoles: string[] = [], only?: string[]): InstallPlan {
  const tables: TablePlan[] = [];
  const wanted = only?.map((t) => t.toLowerCase());
  for (const [name, t] of policy.tables) {
    if (wanted && !wanted.includes(name)) continue;
    const dot = name.indexOf(".");
    if (dot <= 0) throw new PluginError("BAD_POLICY", `${policy.file}: table "${name}" must be named schema.table`);
    const columns = [...t.columns.values()].map(columnPlan);
    if (columns.length === 0) continue;
    tables.push({ schema: name.slice(0, dot), table: name.slice(dot + 1), rowKey: t.rowKey, columns });
  }
  if (wanted) {
    for (const w of wanted) {
      if (!tables.some((t) => `${t.schema}.${t.table}` === w)) {
        throw new PluginError("BAD_POLICY", `${policy.file}: table "${w}" is not protected by the policy`);
      }
    }
  }
  const roles = new Set(extraRoles);
  for (const rule of policy.access) {
    if (rule.plaintext.length === 0 || !rule.ops.has("select")) continue;
    for (const u of rule.match.users ?? []) if (u !== "*") roles.add(u);
  }
  const keyNames = [...new Set(tables.flatMap((t) => t.columns.map((c) => c.key)))].sort();
  return { tables, allowedRoles: [...roles].sort(), keyNames };
}
