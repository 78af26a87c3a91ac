// Reads audit records for `smgate audit tail|query`: filters by type, actor, target and time range.
import { readFileSync } from "node:fs";
import type { AuditEventType, AuditRecord } from "./record.js";

export interface AuditQuery {
  type?: AuditEventType[];
  actor?: string;
  target?: string;
  since?: Date;
  until?: Date;
  limit?: number;
}

export function queryAuditLog(path: string, q: AuditQuery = {}): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line) continue;
    let rec: AuditRecord;
    try {
      rec = JSON.parse(line) as AuditRecord;
    } catch {
      continue;
    }
    if (q.type && !q.type.includes(rec.type)) continue;
    if (q.actor && rec.actor !== q.actor) continue;
    if (q.target && !(rec.target ?? "").startsWith(q.target)) continue;
    const ts = new Date(rec.ts);
    if (q.since && ts < q.since) continue;
    if (q.until && ts > q.until) continue;
    out.push(rec);
  }
  return q.limit !== undefined ? out.slice(-q.limit) : out;
}
