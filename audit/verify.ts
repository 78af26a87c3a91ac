// Verifies an audit log's chain and reports the first broken record with the reason: edited (MAC mismatch),
// deleted or reordered (prev / seq mismatch), inserted (MAC mismatch), truncated (head file ahead of log).
import { existsSync, readFileSync } from "node:fs";
import { AuditChain, type AuditKey } from "./chain.js";
import { type AuditRecord, GENESIS_MAC } from "./record.js";
import { headPath } from "./writer.js";

export interface AuditVerifyResult {
  ok: boolean;
  records: number;
  /** first broken record: 1-based line number, its seq if readable, and why */
  broken?: { line: number; seq?: number; reason: string };
}

export function verifyAuditLog(path: string, auditKey: AuditKey): AuditVerifyResult {
  const chain = new AuditChain(auditKey);
  const lines = readFileSync(path, "utf8").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  let prev = GENESIS_MAC;
  let expectSeq = 1;
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let rec: AuditRecord;
    try {
      rec = JSON.parse(lines[i]) as AuditRecord;
    } catch {
      return { ok: false, records: i, broken: { line, reason: "not valid JSON" } };
    }
    if (typeof rec !== "object" || rec === null || typeof rec.mac !== "string" || typeof rec.seq !== "number") {
      return { ok: false, records: i, broken: { line, reason: "not an audit record" } };
    }
    const { mac, ...body } = rec;
    if (chain.macOf(body) !== mac) {
      return {
        ok: false,
        records: i,
        broken: { line, seq: rec.seq, reason: "MAC mismatch: record edited or inserted" },
      };
    }
    if (rec.prev !== prev) {
      return {
        ok: false,
        records: i,
        broken: { line, seq: rec.seq, reason: "chain broken: a record before it was deleted, inserted or reordered" },
      };
    }
    if (rec.seq !== expectSeq) {
      return {
        ok: false,
        records: i,
        broken: { line, seq: rec.seq, reason: `sequence gap: expected seq ${expectSeq}, found ${rec.seq}` },
      };
    }
    prev = mac;
    expectSeq++;
  }
  const head = headPath(path);
  if (existsSync(head)) {
    try {
      const h = JSON.parse(readFileSync(head, "utf8")) as { seq: number; mac: string };
      if (h.seq !== expectSeq - 1 || h.mac !== prev) {
        return {
          ok: false,
          records: lines.length,
          broken: {
            line: lines.length + 1,
            seq: h.seq,
            reason: `log ends at seq ${expectSeq - 1} but the head file records seq ${h.seq}: records were removed from the end`,
          },
        };
      }
    } catch {
      return { ok: false, records: lines.length, broken: { line: lines.length, reason: "head file unreadable" } };
    }
  }
  return { ok: true, records: lines.length };
}
