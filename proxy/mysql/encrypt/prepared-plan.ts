// The plan a prepared statement carries (PreparedStatement.plan): its analysis, the statement sent to the
// server (literals encrypted, constant slots as literals, other slots as extra `?` markers), the order of
// the server's parameters (the client's `?` and the slot markers, by position in the text), and the result
// part. Built at COM_STMT_PREPARE; used at COM_STMT_EXECUTE and for the column definitions.
import {
  companionColumn,
  groupTargets,
  type InputColumn,
  type TargetGroup,
  type TransformEnv,
  transformGroups,
  type Value,
} from "../../encrypt/value-transforms.js";
import type { AnalysedStatement, RewriteEngine } from "../../rewrite/engine.js";
import { keyToStatementOffset, type ShapeKey } from "../../rewrite/shape-key.js";
import { applyRewrites } from "../../rewrite/splice.js";
import type { PlanEdit, StatementPart, ValueSource, ValueTarget } from "../../rewrite/types.js";
import { ColType } from "../constants.js";
import type { ExecuteParams } from "../hooks.js";
import type { ParamType } from "../session-context.js";
import type { MysqlCatalog } from "./catalog.js";
import { storedFormOf } from "./mysql-types.js";
import { unsupported } from "./refusals.js";
import type { MysqlEncryptionRuntime } from "./runtime.js";
import {
  canonicalizer,
  encryptedLiterals,
  literalReader,
  mysqlLiteral,
  slotValues,
  unknownSource,
} from "./statement-values.js";

/** What executeParams derives from a plan once (until the runtime's generation changes: policy or catalog). */
interface ExecMemo {
  generation: number;
  /** the client's parameters (1-based) bound for protected columns, in plan order */
  ns: number[];
  /** their targets grouped per column + transform (one codec call per group) */
  groups: TargetGroup[];
  /** canonical plaintext per target */
  canon: ((v: Buffer) => Buffer)[];
  /** parameter type of the transformed value per target */
  types: ParamType[];
  env: TransformEnv;
}

/** One server parameter: the client's parameter n (1-based) or the computed slot s (index into plan.slots). */
export type ServerParam = { client: number } | { slot: number };

export interface MysqlPreparedPlan {
  kind: "smgate-mysql-prepared";
  sql: string;
  a: AnalysedStatement;
  engine: RewriteEngine;
  catalog: MysqlCatalog | undefined;
  protectionGeneration: number;
  /** parameters the client binds */
  base: number;
  /** the server's parameters in order (undefined: the same as the client's) */
  serverParams: ServerParam[] | undefined;
  /** the statement part that returns rows */
  part: StatementPart | undefined;
  /** filled by the first execution (executeParams) */
  exec?: ExecMemo;
}

export function isMysqlPreparedPlan(v: unknown): v is MysqlPreparedPlan {
  return typeof v === "object" && v !== null && (v as MysqlPreparedPlan).kind === "smgate-mysql-prepared";
}

/** Key offsets of the `?` markers of a statement's shape key (literals and comments are already markers). */
export function markerOffsets(key: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < key.length; i++) {
    const c = key[i];
    if (c === "`" || c === '"') {
      const close = key.indexOf(c, i + 1);
      i = close < 0 ? key.length : close;
    } else if (c === "?") out.push(i);
  }
  return out;
}

function constantSlot(sources: ValueSource[]): boolean {
  return sources.every((s) => s.kind === "literal" || s.kind === "null");
}

/** COM_STMT_PREPARE: the statement to send and the plan to keep with it. */
export function prepare(
  rt: MysqlEncryptionRuntime,
  catalog: MysqlCatalog | undefined,
  engine: RewriteEngine,
  sql: string,
  a: AnalysedStatement,
): { plan: MysqlPreparedPlan; sql?: string } {
  const p = a.plan;
  const markers = markerOffsets(a.shape.key);
  const base = Math.max(p.paramCount, markers.length);
  const rendered: string[] = new Array(p.slots.length);
  const constIdx: number[] = [];
  const paramSlots: number[] = [];
  p.slots.forEach((s, i) => {
    const sources = s.kind === "mac" ? [s.value, ...s.rowKey.map((k) => k.value)] : [s.value];
    if (sources.some((x) => x.kind === "unknown")) unknownSource(s.column.ad);
    if (constantSlot(sources)) constIdx.push(i);
    else {
      paramSlots.push(i);
      rendered[i] = "?";
    }
  });
  if (constIdx.length > 0) {
    const slots = constIdx.map((i) => p.slots[i]);
    const what = slots.map((s) => s.column.ad).join(",");
    const vals = slotValues(rt, catalog, slots, literalReader(engine, sql, a, what));
    constIdx.forEach((i, j) => {
      rendered[i] = mysqlLiteral(vals[j]);
    });
  }
  let serverParams: ServerParam[] | undefined;
  if (paramSlots.length > 0) {
    if (markers.length !== p.paramCount)
      throw unsupported("the statement's parameter markers could not be located exactly; refused");
    serverParams = orderParams(a.shape, markers, p.edits, paramSlots);
  }
  const newSql = p.rewrites
    ? applyRewrites(sql, a.shape, p, { literals: encryptedLiterals(rt, catalog, engine, sql, a), slots: rendered })
    : undefined;
  return {
    plan: {
      kind: "smgate-mysql-prepared",
      sql,
      a,
      engine,
      catalog,
      protectionGeneration: rt.protectionGeneration,
      base,
      serverParams,
      part: p.parts.find((x) => x.resultColumns !== undefined),
    },
    sql: newSql,
  };
}

/** Client markers and slot markers merged by text position (text inserted at a marker's offset precedes it). */
function orderParams(shape: ShapeKey, markers: number[], edits: PlanEdit[], paramSlots: number[]): ServerParam[] {
  const items: { at: number; order: number; p: ServerParam }[] = markers.map((m, i) => ({
    at: keyToStatementOffset(shape, m),
    order: 1,
    p: { client: i + 1 },
  }));
  const wanted = new Set(paramSlots);
  for (const e of edits) {
    if (e.kind !== "slot" || !wanted.has(e.slot)) continue;
    items.push({ at: keyToStatementOffset(shape, e.at), order: 0, p: { slot: e.slot } });
    wanted.delete(e.slot);
  }
  if (wanted.size > 0) throw unsupported("a computed companion value has no place in the statement; refused");
  items.sort((x, y) => x.at - y.at || x.order - y.order);
  return items.map((i) => i.p);
}

const TEXT_PARAM: ParamType = { type: ColType.VAR_STRING, unsigned: false };
const RAW_PARAM: ParamType = { type: ColType.BLOB, unsigned: false };

function execMemo(rt: MysqlEncryptionRuntime, prep: MysqlPreparedPlan): ExecMemo {
  const m = prep.exec;
  if (m !== undefined && m.generation === rt.generation) return m;
  const catalog = prep.catalog;
  const targets = prep.a.plan.params.filter((p) => p.target);
  const memo: ExecMemo = {
    generation: rt.generation,
    ns: targets.map((p) => p.n),
    groups: groupTargets(targets.map((p) => p.target as ValueTarget)),
    canon: targets.map((p) => canonicalizer(rt, catalog, (p.target as ValueTarget).column)),
    types: targets.map((p) => {
      const t = p.target as ValueTarget;
      const form = storedFormOf(catalog?.columnType(t.column.schema, t.column.table, targetColumn(t)));
      return form === "raw" ? RAW_PARAM : TEXT_PARAM;
    }),
    env: rt.transformEnv(catalog),
  };
  prep.exec = memo;
  return memo;
}

/** COM_STMT_EXECUTE: the client's parameters → the server's (protected values transformed, slots added). */
export function executeParams(
  rt: MysqlEncryptionRuntime,
  prep: MysqlPreparedPlan,
  params: ExecuteParams,
): ExecuteParams | undefined {
  const plan = prep.a.plan;
  const catalog = prep.catalog;
  const memo = execMemo(rt, prep);
  const ns = memo.ns;
  if (ns.length === 0 && !prep.serverParams) return undefined;
  const values = params.values.slice();
  const types = params.types.slice();
  const clientValue = (n: number): Value => {
    const v = params.values[n - 1];
    if (v === undefined) {
      if (n > params.values.length) throw unsupported(`parameter ${n} is missing`);
      throw unsupported(`parameter ${n} feeds a protected column and cannot be sent as long data`);
    }
    return v;
  };
  if (ns.length > 0) {
    const canon = new Array<Value>(ns.length);
    for (let j = 0; j < ns.length; j++) canon[j] = clientValue(ns[j]);
    for (let j = 0; j < ns.length; j++) {
      const v = canon[j];
      if (v !== null) canon[j] = memo.canon[j](v);
    }
    const out = transformGroups(memo.env, memo.groups, canon);
    for (let j = 0; j < ns.length; j++) {
      values[ns[j] - 1] = out[j];
      types[ns[j] - 1] = memo.types[j];
    }
  }
  if (!prep.serverParams) return { types, values };
  const slotIdx = prep.serverParams.flatMap((sp) => ("slot" in sp ? [sp.slot] : []));
  const lit = literalReader(prep.engine, prep.sql, prep.a, "");
  const slotVals = slotValues(
    rt,
    catalog,
    slotIdx.map((i) => plan.slots[i]),
    (src: ValueSource, _col: InputColumn) => (src.kind === "param" ? clientValue(src.n) : lit(src)),
  );
  const bySlot = new Map(slotIdx.map((s, i) => [s, slotVals[i]] as const));
  const outValues: (Buffer | null | undefined)[] = [];
  const outTypes: ParamType[] = [];
  for (const sp of prep.serverParams) {
    if ("client" in sp) {
      outValues.push(values[sp.client - 1]);
      outTypes.push(types[sp.client - 1] ?? TEXT_PARAM);
    } else {
      const s = plan.slots[sp.slot];
      const companion = companionColumn(s.column, s.kind);
      const form = storedFormOf(catalog?.columnType(s.column.schema, s.column.table, companion));
      outValues.push(bySlot.get(sp.slot) ?? null);
      outTypes.push(form === "raw" ? RAW_PARAM : TEXT_PARAM);
    }
  }
  return { types: outTypes, values: outValues };
}

/** The column whose storage receives a target's value (blind-index comparisons go to the companion). */
function targetColumn(t: ValueTarget): string {
  return t.transform === "blind-index" ? companionColumn(t.column, "blind-index") : t.column.column;
}
