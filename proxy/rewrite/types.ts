// Public types of the rewrite engine: column protection (contract shape from policy/), lookups and the
// literal-free StatementPlan handed to the gateways. No parser types leak through this module.

import type { ColumnProtection as PolicyColumnProtection } from "../../policy/policy-types.js";

/**
 * The part of policy/'s ColumnProtection (contract in /work/notes/contracts.md) the rewrite engine reads;
 * policy's compiled objects are accepted as they are (checked at compile time below).
 */
export interface ColumnProtection {
  protect: "encrypt" | "fpe" | "mac";
  mode?: "randomized" | "deterministic";
  format?: string;
  key: string;
  blind_index?: boolean;
  type?: string;
  keep_prefix?: number;
  keep_suffix?: number;
  width?: number;
  on_integrity_failure?: "error" | "flag";
  rowKey?: string[];
  /** Companion column names (policy/ sets them; default `<col>_bidx` / `<col>_mac`). */
  bidxColumn?: string;
  macColumn?: string;
}

/** Compile-time proof that the policy's compiled protection is usable here unchanged. */
export type PolicyProtectionIsCompatible = PolicyColumnProtection extends ColumnProtection ? true : never;
const _policyCompatible: PolicyProtectionIsCompatible = true;
void _policyCompatible;

/** `(schemaTable, column) => protection`; names are the catalog's (case-exact) names, e.g. ("public.patients", "phone"). */
export type ProtectionLookup = (schemaTable: string, column: string) => ColumnProtection | undefined;

/** The transform a value (parameter, literal, computed slot) needs before it reaches the server. */
export type ValueTransform =
  | "encrypt-rnd" // INSERT/UPDATE value of a randomized column
  | "encrypt-det" // value or comparison operand of a deterministic column
  | "fpe" // value or comparison operand of an FPE column
  | "blind-index" // comparison operand rewritten to <col>_bidx
  | "none";

/** A protected column identified by its catalog names. */
export interface ProtectedColumnRef {
  schema: string;
  table: string;
  column: string;
  /** lower("schema.table.column"): the associated data of the envelope (SPEC §4). */
  ad: string;
  protection: ColumnProtection;
}

export interface ValueTarget {
  transform: Exclude<ValueTransform, "none">;
  column: ProtectedColumnRef;
}

/** Where a value the gateway must read comes from in a statement. */
export type ValueSource =
  | { kind: "param"; n: number }
  /** `negative`: the literal follows a unary minus (the value is "-" + the literal's value). */
  | { kind: "literal"; ordinal: number; negative?: boolean }
  | { kind: "null" }
  /** The column keeps its current value (UPDATE without SET on it): the gateway cannot compute it. */
  | { kind: "unknown" };

/** A literal (counted in source order among all literal tokens) that must be replaced by its transformed form. */
export interface LiteralRewrite {
  ordinal: number;
  target: ValueTarget;
  /** The literal was written with a leading unary minus (a separate token at keyOffset `minusAt`). */
  minusAt?: number;
}

/**
 * A value the gateway computes and splices into the statement (companion columns): the blind index of a
 * value or the integrity MAC of a plaintext value with its row key.
 */
export type SlotPlan =
  | { kind: "blind-index"; column: ProtectedColumnRef; value: ValueSource }
  | { kind: "mac"; column: ProtectedColumnRef; value: ValueSource; rowKey: { column: string; value: ValueSource }[] };

/** A text edit at an offset in the statement's key text (literal-free); mapped back per statement. */
export type PlanEdit =
  | { kind: "replace"; start: number; end: number; text: string }
  | { kind: "insert"; at: number; text: string }
  /** Insert `prefix` + the gateway's rendering of slot `slot` (a literal or a new `$n`) + `suffix`. */
  | { kind: "slot"; at: number; slot: number; prefix: string; suffix: string };

/** A column smgate computes per row (COPY FROM companions): from the row's value and row key columns. */
export interface ComputedColumn {
  kind: "blind-index" | "mac";
  column: ProtectedColumnRef;
  /** Index of the protected column's value in the row, or -1 when it is not transferred (NULL). */
  valueIndex: number;
  /** MAC: indexes of the row key columns in the row. */
  rowKeyIndexes?: number[];
}

export interface ResultColumn {
  /** Output column name as the server will report it (best effort: alias or column name, "?column?" otherwise). */
  name: string;
  source?: ProtectedColumnRef;
  /** Added by the rewrite (MAC companion / row key); the gateway must strip it from the client's view. */
  hidden?: boolean;
  /** COPY FROM: a companion column the gateway computes and appends to every row. */
  computed?: ComputedColumn;
}

/** For a MAC column in the output: indexes (into `resultColumns`) of the value, its MAC and its row key columns. */
export interface MacCheck {
  column: ProtectedColumnRef;
  valueIndex: number;
  macIndex: number;
  rowKeyIndexes: number[];
}

export type TableOp = "select" | "insert" | "update" | "delete";

export type StatementKind =
  | "select"
  | "insert"
  | "update"
  | "delete"
  | "copy"
  | "merge"
  | "utility"
  | "transaction"
  | "set"
  | "other";

/** Per statement of a (possibly multi-statement) text. */
export interface StatementPart {
  kind: StatementKind;
  /** Tables (schema.table) the statement touches that the policy protects. */
  protectedTables: string[];
  /**
   * What the statement does with each protected table: "select" when it reads it (FROM, JOIN, subqueries,
   * RETURNING), the DML operation for the INSERT / UPDATE / DELETE / COPY FROM target.
   */
  tableAccess: { table: string; ops: TableOp[] }[];
  /** Protected columns ("schema.table.column" as in the catalog) referenced anywhere (output, WHERE, JOIN, …). */
  columnsRead: string[];
  /** Protected columns given a value (INSERT, UPDATE SET, ON CONFLICT SET, COPY FROM). */
  columnsWritten: string[];
  /** Output columns in order (including hidden ones), or undefined when the statement returns no rows. */
  resultColumns?: ResultColumn[];
  macChecks: MacCheck[];
  /** COPY: the columns of the transferred rows, in order, with their protection. */
  copy?: { direction: "from" | "to"; columns: ResultColumn[] };
}

export interface ParamPlan {
  n: number;
  target?: ValueTarget;
}

export interface Refusal {
  sqlstate: string;
  message: string;
  /** "schema.table.column" when the refusal is about one protected column (MySQL: ERR 1235 names it). */
  column?: string;
}

export interface StatementPlan {
  /** True when no protected table is touched: forward the statement unchanged. */
  passthrough: boolean;
  refusal?: Refusal;
  parts: StatementPart[];
  /** Highest $n used by the statement (before rewrite). */
  paramCount: number;
  params: ParamPlan[];
  literals: LiteralRewrite[];
  /** Number of literal tokens the statement has (consistency check when the plan is reused). */
  literalCount: number;
  slots: SlotPlan[];
  edits: PlanEdit[];
  /** True when applying the plan changes the statement text. */
  rewrites: boolean;
}
