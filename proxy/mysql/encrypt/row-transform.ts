// What to do with the rows of one resultset: per server column the subject's decision (reveal → plaintext
// with the policy type shown, mask, stored ciphertext, or deny), hidden columns to strip (MAC companions and
// row keys the rewrite added), integrity MACs to verify. Protection is found from the column definition's
// schema / org_table / org_name, and from the statement's analysis when the definition names no table.
// Built once per resultset; applied per row batch with one codec call per protected column per batch.

import { encodeRowKey } from "../../../crypto/integrity-mac.js";
import type { SubjectAccess } from "../../../policy/compile.js";
import type { ColumnProtection as PolicyProtection } from "../../../policy/policy-types.js";
import type { ColumnCodec } from "../../codec/column-codec.js";
import type { StoredForm } from "../../codec/stored-form.js";
import { type RevealStep, revealColumn } from "../../encrypt/reveal-column.js";
import { reportMacBatch } from "../../encrypt/security-events.js";
import type { MacCheck, ResultColumn } from "../../rewrite/types.js";
import type { ColumnDefinition } from "../column-definition.js";
import { ColType } from "../constants.js";
import type { ColumnView, Refusal, RowBatch } from "../hooks.js";
import { maskedDefinition, plaintextDefinition } from "./mysql-types.js";
import { denialRefusal, ER_INTEGRITY, ER_INTERNAL, refusal, refusalFromError } from "./refusals.js";
import type { MysqlEncryptionRuntime } from "./runtime.js";

type Value = Buffer | null;

interface ColumnStep extends RevealStep {
  index: number;
}

interface MacStep {
  codec: ColumnCodec;
  ad: string;
  valueIndex: number;
  macIndex: number;
  rowKeyIndexes: number[];
  form: StoredForm;
  flag: boolean;
}

export interface RowTransform {
  view: ColumnView;
  steps: ColumnStep[];
  macs: MacStep[];
  /** the subject may not read a column of this result: refuse at the first row batch */
  deny?: Refusal;
}

export interface BuildInput {
  rt: MysqlEncryptionRuntime;
  access: SubjectAccess;
  user: string;
  /** the session's character set (shown for text that was binary on the server) */
  charset: number;
  columns: ColumnDefinition[];
  /** the statement part's analysis, when known */
  resultColumns?: ResultColumn[];
  macChecks?: MacCheck[];
}

const lc = (s: string) => s.toLowerCase();
const BINARY_CHARSET = 63;

/** Raw bytes for binary string columns (charset 63), smg1: / base64url text otherwise. */
export function formOfDefinition(c: ColumnDefinition | undefined): StoredForm {
  if (!c) return "text";
  const stringy = c.type >= ColType.TINY_BLOB || c.type === ColType.VARCHAR;
  return stringy && c.charset === BINARY_CHARSET ? "raw" : "text";
}

/** The protection of a server column: from its definition's origin, else from the analysis. */
function protectionOf(b: BuildInput, c: ColumnDefinition, rc: ResultColumn | undefined): PolicyProtection | undefined {
  if (c.orgTable && c.orgName && c.schema) {
    const p = b.rt.policy.protection(lc(`${c.schema}.${c.orgTable}`), c.orgName);
    if (p) return p;
  }
  const src = rc?.source;
  return src ? b.rt.policy.protection(lc(`${src.schema}.${src.table}`), src.column) : undefined;
}

/** undefined when rows pass unchanged (no protected or hidden column). */
export function buildRowTransform(b: BuildInput): RowTransform | undefined {
  const { rt, access, columns } = b;
  const rc = b.resultColumns && b.resultColumns.length === columns.length ? b.resultColumns : undefined;
  if (b.resultColumns && !rc && b.resultColumns.some((c) => c.hidden || c.source)) {
    return {
      view: { columns },
      steps: [],
      macs: [],
      deny: refusal(ER_INTERNAL, "smgate: result shape does not match the statement's analysis; refused"),
    };
  }
  const shown: ColumnDefinition[] = [];
  const hide: number[] = [];
  const steps: ColumnStep[] = [];
  let changed = false;
  let deny: Refusal | undefined;
  columns.forEach((c, i) => {
    if (rc?.[i]?.hidden) {
      hide.push(i);
      shown.push(c);
      changed = true;
      return;
    }
    const prot = protectionOf(b, c, rc?.[i]);
    if (!prot) {
      shown.push(c);
      return;
    }
    const decision = access.column(prot.schemaTable, prot.column, "select");
    if (decision.kind === "deny") {
      deny ??= denialRefusal("select", b.user, prot.schemaTable, prot.column);
      shown.push(c);
      return;
    }
    if (decision.kind === "ciphertext" || (decision.kind === "plaintext" && prot.protect === "mac")) {
      shown.push(c);
      return;
    }
    changed = true;
    const step = { index: i, codec: rt.codec(prot), ad: prot.ad, form: formOfDefinition(c) };
    if (decision.kind === "plaintext") {
      steps.push({ ...step, action: "reveal" });
      shown.push(plaintextDefinition(c, prot.type, b.charset));
    } else {
      steps.push({ ...step, action: "mask", mask: decision.mask });
      shown.push(maskedDefinition(c, b.charset));
    }
  });
  const macs: MacStep[] = [];
  for (const m of b.macChecks ?? []) {
    const prot = rt.policy.protection(lc(`${m.column.schema}.${m.column.table}`), m.column.column);
    if (!prot || !rc) continue;
    macs.push({
      codec: rt.codec(prot),
      ad: prot.ad,
      valueIndex: m.valueIndex,
      macIndex: m.macIndex,
      rowKeyIndexes: m.rowKeyIndexes,
      form: formOfDefinition(columns[m.macIndex]),
      flag: prot.on_integrity_failure === "flag",
    });
    changed = true;
  }
  if (!changed && !deny) return undefined;
  return { view: { columns: shown, ...(hide.length ? { hide } : {}) }, steps, macs, deny };
}

/** Applies a transform to one batch of rows in place; a refusal ends the statement. */
export function applyRowTransform(rt: MysqlEncryptionRuntime, t: RowTransform, rows: RowBatch): Refusal | undefined {
  if (t.deny) return t.deny;
  const n = rows.size;
  const column = (i: number): Value[] => {
    const col = new Array<Value>(n);
    for (let r = 0; r < n; r++) col[r] = rows.get(r, i);
    return col;
  };
  try {
    for (const m of t.macs) {
      const values = column(m.valueIndex);
      const macs = column(m.macIndex);
      const keys = m.rowKeyIndexes.map((k) => column(k));
      const rowKeys = new Array<Buffer>(n);
      for (let r = 0; r < n; r++) rowKeys[r] = encodeRowKey(keys.map((k) => k[r]));
      const ok = m.codec.verifyMac(rowKeys, values, macs, m.form);
      if (reportMacBatch(rt, m.ad, m.flag, ok) > 0 && !m.flag)
        return refusal(ER_INTEGRITY, `smgate: integrity check failed for column ${m.ad} (MAC mismatch)`);
    }
    for (const s of t.steps) {
      const out = revealColumn(rt.metrics, s, column(s.index));
      for (let r = 0; r < n; r++) rows.set(r, s.index, out[r]);
    }
  } catch (err) {
    const ref = refusalFromError(err);
    if (ref.error.code === ER_INTEGRITY.code && /integrity/.test(ref.error.message)) {
      const col = (err as { column?: string }).column ?? "?";
      rt.metrics?.integrityFailures.inc({ column: col });
      rt.audit?.record({ type: "integrity_failure", target: col, action: "select", outcome: "failed" });
    }
    return ref;
  }
  return undefined;
}
