// Types of a loaded policy (policy.yaml after validation and defaults): what is protected and the ordered
// access rules. Produced by policy-loader.ts, consumed by compile.ts and the gateway.
import type { ParsedCidr } from "./cidr.js";
import type { MaskSpec } from "./masks.js";
import type { NamePattern } from "./patterns.js";
import type { SourceProblem } from "./yaml-source.js";

export const OPS = ["select", "insert", "update", "delete"] as const;
export type Op = (typeof OPS)[number];

export const PROTECTIONS = ["encrypt", "fpe", "mac"] as const;
export type ProtectKind = (typeof PROTECTIONS)[number];

export const FPE_FORMATS = ["digits", "alnum", "cn-id", "cn-mobile", "bank-card", "integer"] as const;
export type FpeFormat = (typeof FPE_FORMATS)[number];

/** Value types (the database text form is what gets encrypted; `type` says how to present it back). */
export const VALUE_TYPES = [
  "text",
  "integer",
  "smallint",
  "bigint",
  "numeric",
  "decimal",
  "real",
  "double",
  "date",
  "time",
  "timestamp",
  "timestamptz",
  "datetime",
  "boolean",
  "bytea",
  "blob",
  "json",
  "jsonb",
  "uuid",
] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/** Defaults applied when a key is absent (docs/POLICY.md "Defaults"). */
export const POLICY_DEFAULTS = {
  key: "default",
  mode: "randomized",
  type: "text",
  blind_index: false,
  on_integrity_failure: "error",
  access: "deny",
} as const;

export interface ColumnProtection {
  protect: ProtectKind;
  /** encrypt only; default randomized */
  mode?: "randomized" | "deterministic";
  /** fpe only */
  format?: FpeFormat;
  /** key name in the keystore (default: table `key`, else policy `default_key`, else "default") */
  key: string;
  /** encrypt only; false when absent */
  blind_index?: boolean;
  /** always set; default "text" */
  type: ValueType;
  keep_prefix?: number;
  keep_suffix?: number;
  width?: number;
  /** encrypt only: longest plaintext in characters (sizing check of `policy validate --db`); default: the column's declared width */
  max_length?: number;
  /** mac only; default "error" */
  on_integrity_failure?: "error" | "flag";
  /** mac only: the table's row_key columns */
  rowKey?: string[];
  /** lower-cased "schema.table" */
  schemaTable: string;
  /** lower-cased column name */
  column: string;
  /** associated data text: lower("schema.table.column") */
  ad: string;
  /** companion column holding the blind index, when blind_index */
  bidxColumn?: string;
  /** companion column holding the integrity MAC, for mac */
  macColumn?: string;
}

export interface TablePolicy {
  /** lower-cased "schema.table" */
  name: string;
  rowKey?: string[];
  /** per-table shadow mode; undefined = follow smgate.yaml `mode` */
  mode?: "enforce" | "shadow";
  columns: Map<string, ColumnProtection>;
}

export interface RuleMatch {
  users?: string[];
  apps?: string[];
  addresses?: ParsedCidr[];
  databases?: string[];
}

export interface AccessRule {
  name: string;
  /** position in the access list (0-based) */
  index: number;
  match: RuleMatch;
  /** operations this rule allows: (allow ?? all four) minus deny */
  ops: Set<Op>;
  /** tables the allowed operations apply to; empty = all tables */
  tables: NamePattern[];
  plaintext: NamePattern[];
  masks: { pattern: NamePattern; mask: MaskSpec }[];
  denyColumns: NamePattern[];
}

export interface PolicyDoc {
  version: 1;
  defaultKey: string;
  tables: Map<string, TablePolicy>;
  access: AccessRule[];
  /** non-fatal findings (e.g. blind_index on a deterministic column) */
  warnings: SourceProblem[];
  /** file name the policy was read from (for messages) */
  file: string;
}
