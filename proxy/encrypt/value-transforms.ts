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

/** Transforms values bound for protected columns; `items[i]` → result[i]. One codec call per column+transform. */
export function transformTargets(env: TransformEnv, items: { target: ValueTarget; value: Value }[]): Value[] {
  const out = new Array<Value>(items.length);
  const groups = new Map<string, number[]>();
  for (let i = 0; i < items.length; i++) {
    const t = items[i].target;
    const k = `${t.column.ad}\u0000${t.transform}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(i);
  }
  for (const idx of groups.values()) {
    const t = items[idx[0]].target;
    const codec = env.codec(asPolicy(t.column));
    const values = idx.map((i) => items[i].value);
    let res: Value[];
    if (t.transform === "blind-index") {
      res = codec.blindIndex(values, companionForm(env, t.column, "blind-index"));
    } else {
      res = codec.protect(values, env.storedForm(t.column));
      env.metrics?.fields.inc({ column: t.column.ad, action: "encrypted" }, values.filter((v) => v !== null).length);
    }
    for (let j = 0; j < idx.length; j++) out[idx[j]] = res[j];
  }
  return out;
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
