// The HMAC-SM3 chain over audit records: each record's MAC covers the previous MAC and the record itself,
// so an edit, deletion, insertion or reordering breaks verification at the first affected record.
import type { DataKey } from "../crypto/data-key.js";
import { HmacSm3 } from "../crypto/hmac-sm3.js";
import type { KeyRing } from "../keystore/keyring.js";
import { type AuditRecord, canonicalBytes } from "./record.js";

/** Key name of the audit chain's key in the keystore (created by `smgate keys init`). */
export const AUDIT_KEY_NAME = "smgate.audit";

/** The audit MAC key: raw bytes (tests), an HmacSm3, or the keystore's audit data key (its `mac` subkey). */
export type AuditKey = Uint8Array | HmacSm3 | DataKey;

export function auditKeyFrom(ring: KeyRing): DataKey {
  return ring.active(AUDIT_KEY_NAME);
}

export class AuditChain {
  private readonly hmac: HmacSm3;
  constructor(key: AuditKey) {
    this.hmac = key instanceof HmacSm3 ? key : key instanceof Uint8Array ? new HmacSm3(key) : key.mac;
  }

  macOf(rec: Omit<AuditRecord, "mac">): string {
    return this.hmac.mac(Buffer.from(rec.prev, "hex"), canonicalBytes(rec)).toString("hex");
  }
}
