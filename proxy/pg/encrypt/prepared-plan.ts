// The plan a prepared statement carries (PreparedStatement.plan): its analysis, the types the client gave
// and sees, the companion slots sent as extra `$n` parameters, and the result shape. Built at Parse; used at
// Bind, ParameterDescription, RowDescription and DataRow time.

import type { ColumnProtection as PolicyProtection } from "../../../policy/policy-types.js";
import { statementLiteralReader } from "../../encrypt/literal-reader.js";
import type { AnalysedStatement, RewriteEngine } from "../../rewrite/engine.js";
import type { StatementPart, ValueSource } from "../../rewrite/types.js";
import type { PgCatalog } from "./catalog.js";
import { OID, oidForValueType } from "./pg-types.js";
import { EncryptRefusal, SQLSTATE_UNSUPPORTED } from "./refusals.js";
import type { EncryptionRuntime } from "./runtime.js";
import {
  columnType,
  companionColumn,
  computeSlots,
  isByteaType,
  transformTargets,
  unknownSource,
  type Value,
} from "./value-transforms.js";

export interface PreparedPlan {
  kind: "smgate-prepared";
  sql: string;
  a: AnalysedStatement;
  engine: RewriteEngine;
  catalog: PgCatalog | undefined;
  protectionGeneration: number;
  /** parameter types the client gave in Parse (0 = unspecified) */
  clientTypes: number[];
  /** parameters the client binds ($1..$base) */
  base: number;
  /** shown (plaintext) type per protected parameter number */
  shownTypes: Map<number, number>;
  /** slot index → extra parameter number */
  slotParams: { slot: number; n: number }[];
  /** the statement part that returns rows (extended protocol: one statement) */
  part: StatementPart | undefined;
}

/** Slot inputs that are all literals or NULL can be computed once at Parse. */
function constantSlot(sources: ValueSource[]): boolean {
  return sources.every((s) => s.kind === "literal" || s.kind === "null");
}

/** Reads literal / NULL slot inputs of a simple query's own text (a parameter there is refused). */
export function literalReader(engine: RewriteEngine, sql: string, a: AnalysedStatement, column: string) {
  return statementLiteralReader(engine, sql, a, {
    param: (src) => {
      throw new EncryptRefusal(SQLSTATE_UNSUPPORTED, `column "${column}": parameter $${src.n} in a simple query`);
    },
    unknown: () => unknownSource(column),
  });
}

/** Encrypted literal texts (aligned with plan.literals) for the statement's own text. */
export function encryptLiterals(
  rt: EncryptionRuntime,
  catalog: PgCatalog | undefined,
  engine: RewriteEngine,
  sql: string,
  a: AnalysedStatement,
): string[] {
  if (a.plan.literals.length === 0) return [];
  const plain = engine.literalValues(sql, a);
  const out = transformTargets(
    rt,
    catalog,
    a.plan.literals.map((l, i) => ({ target: l.target, value: Buffer.from(plain[i], "utf8") })),
  );
  return out.map((v) => (v === null ? "" : v.toString("utf8")));
}

export function renderLiteral(rt: EncryptionRuntime, v: Value): string {
  return v === null ? "NULL" : rt.adapter.quoteLiteral(v.toString("utf8"));
}

/** Parse: rewrite literals, place slots (constants as literals, others as extra $n), fix parameter types. */
export function prepare(
  rt: EncryptionRuntime,
  catalog: PgCatalog | undefined,
  engine: RewriteEngine,
  sql: string,
  a: AnalysedStatement,
  clientTypes: number[],
): { plan: PreparedPlan; sql?: string; paramTypes?: number[] } {
  const p = a.plan;
  const base = Math.max(p.paramCount, clientTypes.length);
  const shownTypes = new Map<number, number>();
  for (const pp of p.params)
    if (pp.target) shownTypes.set(pp.n, oidForValueType((pp.target.column.protection as PolicyProtection).type));
  const slotParams: { slot: number; n: number }[] = [];
  const rendered: string[] = new Array(p.slots.length);
  const constIdx: number[] = [];
  p.slots.forEach((s, i) => {
    const sources = s.kind === "mac" ? [s.value, ...s.rowKey.map((k) => k.value)] : [s.value];
    if (sources.some((x) => x.kind === "unknown")) unknownSource(s.column.ad);
    if (constantSlot(sources)) constIdx.push(i);
    else {
      const n = base + slotParams.length + 1;
      slotParams.push({ slot: i, n });
      rendered[i] = `$${n}`;
    }
  });
  if (constIdx.length > 0) {
    const vals = computeSlots(
      rt,
      catalog,
      constIdx.map((i) => p.slots[i]),
      literalReader(engine, sql, a, constIdx.map((i) => p.slots[i].column.ad).join(",")),
    );
    constIdx.forEach((i, j) => {
      rendered[i] = renderLiteral(rt, vals[j]);
    });
  }
  const newSql = p.rewrites
    ? engine.rewrite(sql, a, encryptLiterals(rt, catalog, engine, sql, a), rendered)
    : undefined;
  let paramTypes: number[] | undefined;
  const protectedTyped = clientTypes.some((t, i) => t !== 0 && shownTypes.has(i + 1));
  if (slotParams.length > 0 || protectedTyped) {
    paramTypes = new Array<number>(base + slotParams.length).fill(0);
    for (let i = 0; i < clientTypes.length; i++) paramTypes[i] = shownTypes.has(i + 1) ? 0 : clientTypes[i];
    for (const sp of slotParams) {
      const s = p.slots[sp.slot];
      const t = columnType(catalog, s.column.schema, s.column.table, companionColumn(s.column, s.kind));
      paramTypes[sp.n - 1] = isByteaType(t) ? OID.bytea : OID.text;
    }
  }
  const part = p.parts.find((x) => x.resultColumns !== undefined);
  return {
    plan: {
      kind: "smgate-prepared",
      sql,
      a,
      engine,
      catalog,
      protectionGeneration: rt.protectionGeneration,
      clientTypes: clientTypes.slice(),
      base,
      shownTypes,
      slotParams,
      part,
    },
    sql: newSql,
    paramTypes,
  };
}

export function isPreparedPlan(v: unknown): v is PreparedPlan {
  return typeof v === "object" && v !== null && (v as PreparedPlan).kind === "smgate-prepared";
}
