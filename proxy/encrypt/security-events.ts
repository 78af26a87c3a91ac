// Reports the encryption layers' security events — access denials and MAC mismatches — to metrics, the audit
// log and the logger, with one wording for both protocols. Only names, counts and error codes are recorded,
// never a value.
import type { AuditSink } from "../../audit/writer.js";
import type { Logger } from "../log.js";
import type { GatewayMetrics } from "../metrics.js";
import type { Denial } from "./access-check.js";

export interface SecurityEventSinks {
  readonly metrics?: GatewayMetrics;
  readonly audit?: AuditSink;
  readonly logger?: Logger;
}

export interface Requester {
  user: string;
  app?: string;
  address?: string;
}

/** Counts and audits a denial; `code` is the protocol's error code shown to the client. Returns "table[.column]". */
export function reportDenial(sinks: SecurityEventSinks, who: Requester, d: Denial, code: string): string {
  const target = d.column ? `${d.table}.${d.column}` : d.table;
  sinks.metrics?.denials.inc({ table: d.table, operation: d.op });
  sinks.audit?.record({
    type: "denial",
    actor: who.user,
    app: who.app,
    address: who.address,
    target,
    action: d.op,
    outcome: "denied",
    detail: code,
  });
  return target;
}

/**
 * Counts one batch's MAC verification of column `ad` (`ok[i]` per row) and reports mismatches; returns how many
 * rows failed. With `flag` the rows pass (counted, audited as flagged); otherwise the caller refuses the result.
 */
export function reportMacBatch(sinks: SecurityEventSinks, ad: string, flag: boolean, ok: readonly boolean[]): number {
  let bad = 0;
  for (const v of ok) if (!v) bad++;
  sinks.metrics?.fields.inc({ column: ad, action: "mac_verified" }, ok.length - bad);
  if (bad > 0) {
    sinks.metrics?.integrityFailures.inc({ column: ad }, bad);
    sinks.audit?.record({
      type: "integrity_failure",
      target: ad,
      action: "select",
      outcome: flag ? "ok" : "failed",
      detail: `${bad} row(s) with a MAC mismatch (${flag ? "flagged" : "refused"})`,
    });
    sinks.logger?.warn({ column: ad, rows: bad, flagged: flag }, "integrity MAC mismatch");
  }
  return bad;
}
