// Reveals one result column of a row batch for the subject: one codec call decrypts (or verifies) the stored
// values, a mask is applied when the decision says so, and the metrics count masked / decrypted fields. Shared by
// the PostgreSQL and MySQL row transforms; protocol conversions stay with them.
import { applyMaskBatch, type MaskSpec } from "../../policy/masks.js";
import type { ColumnCodec } from "../codec/column-codec.js";
import type { StoredForm } from "../codec/stored-form.js";
import type { GatewayMetrics } from "../metrics.js";

type Value = Buffer | null;

/** What the subject gets of one protected result column. */
export interface RevealStep {
  codec: ColumnCodec;
  /** schema.table.column (metric label) */
  ad: string;
  action: "reveal" | "mask";
  mask?: MaskSpec;
  form: StoredForm;
}

/** The column's values as the subject sees them (plaintext or masked), in row order. */
export function revealColumn(metrics: GatewayMetrics | undefined, s: RevealStep, values: Value[]): Value[] {
  let present = 0;
  for (const v of values) if (v !== null) present++;
  const out = s.codec.reveal(values, s.form);
  if (s.action === "mask") {
    const masked = applyMaskBatch(
      s.mask!,
      out.map((v) => (v === null ? null : v.toString("utf8"))),
    );
    metrics?.fields.inc({ column: s.ad, action: "masked" }, present);
    return masked.map((v) => (v === null ? null : Buffer.from(v, "utf8")));
  }
  // a MAC column's value is stored in plaintext and verified, not decrypted
  if (s.codec.protection.protect !== "mac") metrics?.fields.inc({ column: s.ad, action: "decrypted" }, present);
  return out;
}
