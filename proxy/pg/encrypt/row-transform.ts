// What to do with the rows of one result: per server column the subject's decision (reveal → plaintext with
// the policy type shown, mask, stored ciphertext, or deny), hidden columns to strip (MAC companions and row
// keys the rewrite added), integrity MACs to verify. Built once per RowDescription / portal; applied per
// DataRow batch with one codec call per protected column per batch (never per row).

import { encodeRowKey } from "../../../crypto/integrity-mac.js";
import type { SubjectAccess } from "../../../policy/compile.js";
import type { ColumnProtection as PolicyProtection } from "../../../policy/policy-types.js";
import type { ColumnCodec } from "../../codec/column-codec.js";
import type { StoredForm } from "../../codec/stored-form.js";
import { type RevealStep, revealColumn } from "../../encrypt/reveal-column.js";
import { reportMacBatch } from "../../encrypt/security-events.js";
import type { MacCheck, ResultColumn } from "../../rewrite/types.js";
import { decodeDataRow, type FieldDescription } from "../backend-messages.js";
import type { Refusal } from "../hooks.js";
import type { PgCatalog } from "./catalog.js";
import { binaryToText, OID, oidForValueType, textToBinary, typlenOf } from "./pg-types.js";
import { refusal, refusalFromError, SQLSTATE_DENIED, SQLSTATE_INTEGRITY } from "./refusals.js";
import type { EncryptionRuntime } from "./runtime.js";

type Value = Buffer | null;

interface ColumnStep extends RevealStep {
  index: number;
  // form: how the stored value arrives (after binary → text when the server sent binary)
  /** server sent this column in binary: convert with this type OID first (non-text, non-bytea types) */
  storedBinaryOid?: number;
  /** client wants binary: convert the output text with this OID */
  outBinaryOid?: number;
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

/** Pure format change (server text, client binary) for a column without a protection step. */
interface FormatStep {
  index: number;
  oid: number;
}

export interface RowTransform {
  /** shown to the client (visible columns only) */
  fields: FieldDescription[];
  keep?: number[];
  steps: ColumnStep[];
  macs: MacStep[];
  formats: FormatStep[];
  deny?: Refusal;
}

export interface BuildInput {
  rt: EncryptionRuntime;
  catalog: PgCatalog | undefined;
  access: SubjectAccess;
  /** the server's fields (formats as the server sends them) */
  fields: FieldDescription[];
  /** the statement part's analysis, when known */
  resultColumns?: ResultColumn[];
  macChecks?: MacCheck[];
  /** formats the client asked for, per visible column (Bind codes), or undefined = as the server sends */
  clientFormats?: number[];
}

const lc = (s: string) => s.toLowerCase();

function formatAt(codes: number[] | undefined, i: number, fallback: number): number {
  if (!codes) return fallback;
  if (codes.length === 0) return 0;
  if (codes.length === 1) return codes[0];
  return codes[i] ?? 0;
}

/** undefined when rows pass unchanged (no protected, hidden or converted column). */
export function buildRowTransform(b: BuildInput): RowTransform | undefined {
  const { rt, catalog, access, fields } = b;
  const rc = b.resultColumns && b.resultColumns.length === fields.length ? b.resultColumns : undefined;
  if (b.resultColumns && !rc && b.resultColumns.some((c) => c.hidden || c.source)) {
    return {
      fields,
      steps: [],
      macs: [],
      formats: [],
      deny: refusal("XX000", "smgate: result shape does not match the statement's analysis; refused"),
    };
  }
  const keep: number[] = [];
  const steps: ColumnStep[] = [];
  const formats: FormatStep[] = [];
  const shown: FieldDescription[] = [];
  let changed = false;
  let deny: Refusal | undefined;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (rc?.[i]?.hidden) {
      changed = true;
      continue;
    }
    const visibleIndex = keep.length;
    keep.push(i);
    const clientFormat = formatAt(b.clientFormats, visibleIndex, f.format);
    let prot: PolicyProtection | undefined;
    const src = rc?.[i]?.source;
    if (src) prot = rt.policy.protection(lc(`${src.schema}.${src.table}`), src.column);
    else {
      const o = catalog?.origin(f.tableOid, f.columnAttr);
      if (o) prot = rt.policy.protection(o.schemaTable, o.column);
    }
    if (!prot) {
      if (clientFormat !== f.format) {
        changed = true;
        if (clientFormat === 1) formats.push({ index: i, oid: f.typeOid });
      }
      shown.push(clientFormat === f.format ? f : { ...f, format: clientFormat });
      continue;
    }
    const decision = access.column(prot.schemaTable, prot.column, "select");
    const binIn = f.format === 1 && f.typeOid !== OID.bytea && !isTextOid(f.typeOid) ? f.typeOid : undefined;
    const form: StoredForm = f.typeOid === OID.bytea ? (f.format === 1 ? "raw" : "bytea-hex") : "text";
    const codec = rt.codec(prot);
    if (decision.kind === "deny") {
      deny ??= refusal(
        SQLSTATE_DENIED,
        `permission denied by smgate policy: select on column ${prot.schemaTable}.${prot.column}`,
      );
      shown.push(f);
      continue;
    }
    if (decision.kind === "ciphertext") {
      if (clientFormat !== f.format) {
        changed = true;
        if (clientFormat === 1) formats.push({ index: i, oid: f.typeOid });
      }
      shown.push({ ...f, format: clientFormat });
      continue;
    }
    changed = true;
    if (decision.kind === "plaintext") {
      const oid = prot.protect === "mac" ? f.typeOid : oidForValueType(prot.type);
      if (prot.protect !== "mac" || binIn !== undefined || clientFormat !== f.format)
        steps.push({
          index: i,
          codec,
          ad: prot.ad,
          action: "reveal",
          form,
          storedBinaryOid: binIn,
          outBinaryOid: clientFormat === 1 ? oid : undefined,
        });
      shown.push({ ...f, typeOid: oid, typeSize: typlenOf(oid), typeModifier: -1, format: clientFormat });
    } else {
      steps.push({
        index: i,
        codec,
        ad: prot.ad,
        action: "mask",
        mask: decision.mask,
        form,
        storedBinaryOid: binIn,
        outBinaryOid: clientFormat === 1 ? OID.text : undefined,
      });
      shown.push({ ...f, typeOid: OID.text, typeSize: -1, typeModifier: -1, format: clientFormat });
    }
  }
  const macs: MacStep[] = [];
  for (const m of b.macChecks ?? []) {
    const prot = rt.policy.protection(lc(`${m.column.schema}.${m.column.table}`), m.column.column);
    if (!prot || !rc) continue;
    const mf = fields[m.macIndex];
    macs.push({
      codec: rt.codec(prot),
      ad: prot.ad,
      valueIndex: m.valueIndex,
      macIndex: m.macIndex,
      rowKeyIndexes: m.rowKeyIndexes,
      form: mf?.typeOid === OID.bytea ? (mf.format === 1 ? "raw" : "bytea-hex") : "text",
      flag: prot.on_integrity_failure === "flag",
    });
    changed = true;
  }
  if (!changed && !deny) return undefined;
  return { fields: shown, keep: keep.length === fields.length ? undefined : keep, steps, macs, formats, deny };
}

function isTextOid(oid: number): boolean {
  return oid === OID.text || oid === OID.varchar || oid === OID.bpchar || oid === OID.unknown;
}

/** Applies a transform to one batch of DataRow messages. */
export function applyRowTransform(rt: EncryptionRuntime, t: RowTransform, rows: Buffer[]): Buffer[] | Refusal {
  if (t.deny) return t.deny;
  const n = rows.length;
  const table = new Array<Value[]>(n);
  for (let r = 0; r < n; r++) table[r] = decodeDataRow(rows[r], 0, rows[r].length);
  const column = (i: number): Value[] => {
    const col = new Array<Value>(n);
    for (let r = 0; r < n; r++) col[r] = table[r][i];
    return col;
  };
  try {
    for (const m of t.macs) {
      const values = column(m.valueIndex);
      const macs = column(m.macIndex);
      const rowKeys = new Array<Buffer>(n);
      for (let r = 0; r < n; r++) rowKeys[r] = encodeRowKey(m.rowKeyIndexes.map((k) => table[r][k]));
      const ok = m.codec.verifyMac(rowKeys, values, macs, m.form);
      if (reportMacBatch(rt, m.ad, m.flag, ok) > 0 && !m.flag)
        return refusal(SQLSTATE_INTEGRITY, `smgate: integrity check failed for column ${m.ad} (MAC mismatch)`);
    }
    for (const s of t.steps) {
      let values = column(s.index);
      if (s.storedBinaryOid !== undefined) {
        const oid = s.storedBinaryOid;
        values = values.map((v) => (v === null ? null : binaryToText(oid, v)));
      }
      let out = revealColumn(rt.metrics, s, values);
      if (s.outBinaryOid !== undefined) {
        const oid = s.outBinaryOid;
        out = out.map((v) => (v === null ? null : textToBinary(oid, v)));
      }
      for (let r = 0; r < n; r++) table[r][s.index] = out[r];
    }
    for (const f of t.formats)
      for (let r = 0; r < n; r++) {
        const v = table[r][f.index];
        if (v !== null) table[r][f.index] = textToBinary(f.oid, v);
      }
  } catch (err) {
    const ref = refusalFromError(err);
    if (ref.error.C === SQLSTATE_INTEGRITY) {
      const col = (err as { column?: string }).column ?? "?";
      rt.metrics?.integrityFailures.inc({ column: col });
      rt.audit?.record({ type: "integrity_failure", target: col, action: "select", outcome: "failed" });
    }
    return ref;
  }
  return [encodeDataRows(table, t.keep)];
}

/** All rows of a batch as consecutive DataRow messages in one buffer (one allocation per batch). */
export function encodeDataRows(table: Value[][], keep: number[] | undefined): Buffer {
  let size = 0;
  for (const row of table) {
    size += 7; // type, length, column count
    const cols = keep ?? row.map((_, i) => i);
    for (const i of cols) size += 4 + (row[i]?.length ?? 0);
  }
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const row of table) {
    const start = pos;
    const count = keep ? keep.length : row.length;
    out[pos] = 0x44; // 'D'
    pos += 5;
    out.writeInt16BE(count, pos);
    pos += 2;
    for (let j = 0; j < count; j++) {
      const v = row[keep ? keep[j] : j];
      if (v === null) {
        out.writeInt32BE(-1, pos);
        pos += 4;
      } else {
        out.writeInt32BE(v.length, pos);
        pos += 4;
        v.copy(out, pos);
        pos += v.length;
      }
    }
    out.writeInt32BE(pos - start - 1, start + 1);
  }
  return out;
}
