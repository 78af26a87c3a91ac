// Audit record shape and its canonical byte encoding (the bytes the chain MAC covers). Records carry names,
// ids and outcomes — never values of protected columns and never key bytes.
export type AuditEventType =
  | "login"
  | "login_failed"
  | "denial"
  | "refusal"
  | "integrity_failure"
  | "policy_change"
  | "policy_reload_failed"
  | "key_operation"
  | "admin_action"
  | "config_change"
  | "startup"
  | "shutdown";

export interface AuditEvent {
  type: AuditEventType;
  /** who: database user, admin certificate subject, or "cli:<os user>" */
  actor?: string;
  /** application name / program name, client address */
  app?: string;
  address?: string;
  /** what was touched: schema.table[.column], key name or id, policy file … */
  target?: string;
  /** operation (select/insert/…, rotate, reload …) */
  action?: string;
  outcome?: "ok" | "denied" | "refused" | "failed";
  /** free-form detail: a reason, a SQLSTATE — never a value */
  detail?: string;
}

export interface AuditRecord extends AuditEvent {
  seq: number;
  ts: string;
  /** hex MAC of the previous record (64 zero digits for the first) */
  prev: string;
  /** hex HMAC-SM3(audit key, prev ‖ canonical(record without mac)) */
  mac: string;
}

const FIELD_ORDER = ["seq", "ts", "type", "actor", "app", "address", "target", "action", "outcome", "detail", "prev"];

/** Canonical encoding: fixed field order, absent fields omitted, JSON string escaping. */
export function canonicalBytes(rec: Omit<AuditRecord, "mac">): Buffer {
  const parts: string[] = [];
  const bag = rec as unknown as Record<string, unknown>;
  for (const k of FIELD_ORDER) {
    const v = bag[k];
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
  }
  return Buffer.from(`{${parts.join(",")}}`, "utf8");
}

export const GENESIS_MAC = "0".repeat(64);
