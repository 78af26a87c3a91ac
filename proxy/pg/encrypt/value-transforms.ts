// Batched transforms of the values a statement sends: literals and parameters bound for protected columns
// (encrypt / FPE / blind index) and the computed companion slots (blind index, integrity MAC). Values are
// grouped per column and transform so each group is one codec call. Stored forms follow the catalog type
// of the receiving column (bytea → "\x…" hex text, anything else → smg1: text / base64url companions).
import { encodeRowKey } from "../../../crypto/integrity-mac.js";
import type { ColumnProtection as PolicyProtection } from "../../../policy/policy-types.js";
import type { StoredForm } from "../../codec/stored-form.js";
import type { ProtectedColumnRef, SlotPlan, ValueSource, ValueTarget } from "../../rewrite/types.js";
import type { PgCatalog } from "./catalog.js";
import { EncryptRefusal, SQLSTATE_UNSUPPORTED } from "./refusals.js";
import type { EncryptionRuntime } from "./runtime.js";

export type Value = Buffer | null;

/** The catalog type of a column ("text", "bytea", "character varying(20)", …) or undefined. */
export function columnType(catalog: PgCatalog | undefined, schema: string, table: string, column: string) {
  return catalog?.schema.table(schema, table)?.columns.find((c) => c.name === column)?.type;
}

export function isByteaType(type: string | undefined): boolean {
  return type === "bytea";
}

/** Stored form of values sent in text format to a column of this catalog type. */
export function textStoredForm(type: string | undefined): StoredForm {
  return isByteaType(type) ? "bytea-hex" : "text";
}

export function companionColumn(ref: ProtectedColumnRef, kind: "blind-index" | "mac"): string {
  const p = ref.protection;
  return kind === "blind-index" ? (p.bidxColumn ?? `${ref.column}_bidx`) : (p.macColumn ?? `${ref.column}_mac`);
}

export function companionForm(catalog: PgCatalog | undefined, ref: ProtectedColumnRef, kind: "blind-index" | "mac") {
  return textStoredForm(columnType(catalog, ref.schema, ref.table, companionColumn(ref, kind)));
}

const asPolicy = (ref: ProtectedColumnRef) => ref.protection as PolicyProtection;

/** Transforms values bound for protected columns; `items[i]` → result[i]. One codec call per column+transform. */
export function transformTargets(
  rt: EncryptionRuntime,
  catalog: PgCatalog | undefined,
  items: { target: ValueTarget; value: Value }[],
): Value[] {
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
    const codec = rt.codec(asPolicy(t.column));
    const values = idx.map((i) => items[i].value);
    let res: Value[];
    if (t.transform === "blind-index") {
      res = codec.blindIndex(values, companionForm(catalog, t.column, "blind-index"));
    } else {
      const form = textStoredForm(columnType(catalog, t.column.schema, t.column.table, t.column.column));
      res = codec.protect(values, form);
      rt.metrics?.fields.inc({ column: t.column.ad, action: "encrypted" }, values.filter((v) => v !== null).length);
    }
    for (let j = 0; j < idx.length; j++) out[idx[j]] = res[j];
  }
  return out;
}

/** The column a slot input belongs to (its catalog type tells how to read a binary parameter). */
export interface InputColumn {
  schema: string;
  table: string;
  column: string;
}

/** Value of a slot input; throws for values the gateway cannot know. */
export type SourceReader = (src: ValueSource, column: InputColumn) => Value;

export function unknownSource(column: string): never {
  throw new EncryptRefusal(
    SQLSTATE_UNSUPPORTED,
    `column "${column}": smgate cannot compute its companion value (an input is neither a parameter nor a literal)`,
  );
}

/** Computes companion values (blind index / MAC) for the slots, batched per column. */
export function computeSlots(
  rt: EncryptionRuntime,
  catalog: PgCatalog | undefined,
  slots: readonly SlotPlan[],
  read: SourceReader,
): Value[] {
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
    const codec = rt.codec(asPolicy(s0.column));
    const form = companionForm(catalog, s0.column, s0.kind);
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
      rt.metrics?.fields.inc({ column: s0.column.ad, action: "mac_written" }, values.length);
    }
    for (let j = 0; j < idx.length; j++) out[idx[j]] = res[j];
  }
  return out;
}

const TYPE_OIDS: Record<string, number> = {
  boolean: 16,
  bytea: 17,
  bigint: 20,
  smallint: 21,
  integer: 23,
  text: 25,
  real: 700,
  "double precision": 701,
  character: 1042,
  "character varying": 1043,
  date: 1082,
  "time without time zone": 1083,
  "timestamp without time zone": 1114,
  "timestamp with time zone": 1184,
  numeric: 1700,
  uuid: 2950,
};

/** Type OID of a catalog type name (format_type output, modifiers ignored); undefined when not known here. */
export function oidOfCatalogType(type: string | undefined): number | undefined {
  if (!type) return undefined;
  return TYPE_OIDS[type.replace(/\(.*\)/, "")];
}
