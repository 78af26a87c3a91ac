// Batched transforms of the values a statement sends, shared by the PostgreSQL and MySQL gateways: values
// bound for protected columns (encrypt / FPE / blind index) and computed companion slots (blind index,
// integrity MAC). Values are grouped per column and transform so each group is one codec call. How a value is
// stored (smg1: text, bytea hex, raw bytes) is the dialect's business: the caller passes a StoredFormLookup.
import { encodeRowKey } from "../../crypto/integrity-mac.js";
import type { ColumnProtection as PolicyProtection } from "../../policy/policy-types.js";
import type { ColumnCodec } from "../codec/column-codec.js";
import type { StoredForm } from "../codec/stored-form.js";
import type { GatewayMetrics } from "../metrics.js";
import type { ProtectedColumnRef, SlotPlan, ValueSource, ValueTarget } from "../rewrite/types.js";

export type Value = Buffer | null;

/** The column a value belongs to (catalog names). */
export interface InputColumn {
  schema: string;
  table: string;
  column: string;
}

/** What the transforms need from the gateway's runtime. */
export interface TransformEnv {
  codec(protection: PolicyProtection): ColumnCodec;
  metrics?: GatewayMetrics;
  /** Stored form of values written to this (protected or companion) column. */
  storedForm(column: InputColumn): StoredForm;
}

/** Value of a slot input; throws for values the gateway cannot know. */
export type SourceReader = (src: ValueSource, column: InputColumn) => Value;

export function companionColumn(ref: ProtectedColumnRef, kind: "blind-index" | "mac"): string {
  const p = ref.protection;
  return kind === "blind-index" ? (p.bidxColumn ?? `${ref.column}_bidx`) : (p.macColumn ?? `${ref.column}_mac`);
}

const asPolicy = (ref: ProtectedColumnRef) => ref.protection as PolicyProtection;

function companionForm(env: TransformEnv, ref: ProtectedColumnRef, kind: "blind-index" | "mac"): StoredForm {
  return env.storedForm({ schema: ref.schema, table: ref.table, column: companionColumn(ref, kind) });
}

/**
 * Values bound for the same column and transform, transformed with one codec call: `at` are the positions of
 * its values in the caller's list. A statement's groups can be computed once (groupTargets) and reused for every
 * execution; `memo` then keeps what only depends on the target (stored form, metric labels).
 */
export interface TargetGroup {
  readonly target: ValueTarget;
  readonly at: readonly number[];
  /** filled on first use: stored form of the results (the env of one catalog gives the same form every time) */
  memo?: { form: StoredForm; labels: { column: string; action: "encrypted" } };
}

/** Groups targets per column + transform, in order of first appearance (one codec call per group). */
export function groupTargets(targets: readonly ValueTarget[]): TargetGroup[] {
  const groups: { target: ValueTarget; at: number[] }[] = [];
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i];
    let g: { target: ValueTarget; at: number[] } | undefined;
    for (let j = 0; j < groups.length; j++) {
      const c = groups[j].target;
      if (c.transform === t.transform && c.column.ad === t.column.ad) {
        g = groups[j];
        break;
      }
    }
    if (g) g.at.push(i);
    else groups.push({ target: t, at: [i] });
  }
  return groups;
}

/**
 * Transforms `values` (values[i] bound for the target at position i of the groups) → results in the same
 * positions. `groups` must come from groupTargets over targets this env's catalog resolves the same way each
 * call (memo). One codec call per group.
 */
export function transformGroups(env: TransformEnv, groups: readonly TargetGroup[], values: readonly Value[]): Value[] {
  const out = new Array<Value>(values.length);
  for (let gi = 0; gi < groups.length; gi++) {
    const g = groups[gi];
    const t = g.target;
    const at = g.at;
    const codec = env.codec(asPolicy(t.column));
    const vals = new Array<Value>(at.length);
    let nonNull = 0;
    for (let j = 0; j < at.length; j++) {
      const v = values[at[j]];
      vals[j] = v;
      if (v !== null) nonNull++;
    }
    let memo = g.memo;
    if (memo === undefined) {
      const form =
        t.transform === "blind-index" ? companionForm(env, t.column, "blind-index") : env.storedForm(t.column);
      memo = { form, labels: { column: t.column.ad, action: "encrypted" } };
      g.memo = memo;
    }
    let res: Value[];
    if (t.transform === "blind-index") {
      res = codec.blindIndex(vals, memo.form);
    } else {
      res = codec.protect(vals, memo.form);
      env.metrics?.fields.inc(memo.labels, nonNull);
    }
    for (let j = 0; j < at.length; j++) out[at[j]] = res[j];
  }
  return out;
}

/** Transforms values bound for protected columns; `items[i]` → result[i]. One codec call per column+transform. */
export function transformTargets(env: TransformEnv, items: { target: ValueTarget; value: Value }[]): Value[] {
  const targets = new Array<ValueTarget>(items.length);
  const values = new Array<Value>(items.length);
  for (let i = 0; i < items.length; i++) {
    targets[i] = items[i].target;
    values[i] = items[i].value;
  }
  return transformGroups(env, groupTargets(targets), values);
}

/** Computes companion values (blind index / MAC) for the slots, batched per column. */
export function computeSlots(env: TransformEnv, slots: readonly SlotPlan[], read: SourceReader): Value[] {
  const out = new Array<Value>(slots.length);
  const groups = new Map<string, number[]>();
  for (let i = 0; i < slots.length; i++) {
    const k = `${slots[i].kind}\u0000${slots[i].column.ad}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(i);
  }
  for (const idx of groups.values()) {
    const s0 = slots[idx[0]];
    const codec = env.codec(asPolicy(s0.column));
    const form = companionForm(env, s0.column, s0.kind);
    const values = idx.map((i) => read(slots[i].value, slots[i].column));
    let res: Value[];
    if (s0.kind === "blind-index") {
      res = codec.blindIndex(values, form);
    } else {
      const rowKeys = idx.map((i) => {
        const s = slots[i] as Extract<SlotPlan, { kind: "mac" }>;
        return encodeRowKey(s.rowKey.map((k) => read(k.value, { ...s.column, column: k.column })));
      });
      res = codec.mac(rowKeys, values, form);
      env.metrics?.fields.inc({ column: s0.column.ad, action: "mac_written" }, values.length);
    }
    for (let j = 0; j < idx.length; j++) out[idx[j]] = res[j];
  }
  return out;
}
