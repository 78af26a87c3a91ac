// Append-only audit log writer: JSON lines, one record per line, chained by HMAC-SM3. On open it reads the
// last record to continue the chain; every append is written synchronously (O_APPEND) so a crash never
// leaves a half-chained tail, and a small head file pins the newest seq/MAC so truncation is detectable.
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { AuditChain, type AuditKey } from "./chain.js";
import { type AuditEvent, type AuditRecord, GENESIS_MAC } from "./record.js";

export class AuditError extends Error {
  override name = "AuditError";
}

export interface AuditSink {
  record(ev: AuditEvent): void;
}

export class AuditWriter implements AuditSink {
  private fd: number;
  private seq: number;
  private prev: string;
  private readonly chain: AuditChain;

  constructor(
    readonly path: string,
    auditKey: AuditKey,
    private readonly opts: { fsync?: boolean } = {},
  ) {
    this.chain = new AuditChain(auditKey);
    const last = existsSync(path) ? readLastRecord(path) : undefined;
    this.seq = last ? last.seq : 0;
    this.prev = last ? last.mac : GENESIS_MAC;
    this.fd = openSync(path, "a", 0o600);
  }

  record(ev: AuditEvent): AuditRecord {
    const base = { seq: this.seq + 1, ts: new Date().toISOString(), ...pickEvent(ev), prev: this.prev };
    const rec: AuditRecord = { ...base, mac: this.chain.macOf(base) };
    writeSync(this.fd, `${JSON.stringify(rec)}\n`);
    if (this.opts.fsync) fsyncSync(this.fd);
    this.seq = rec.seq;
    this.prev = rec.mac;
    writeHead(this.path, rec);
    return rec;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function pickEvent(ev: AuditEvent): AuditEvent {
  const out: AuditEvent = { type: ev.type };
  for (const k of ["actor", "app", "address", "target", "action", "outcome", "detail"] as const) {
    if (ev[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = ev[k];
  }
  return out;
}

export function headPath(logPath: string): string {
  return `${logPath}.head`;
}

function writeHead(logPath: string, rec: AuditRecord): void {
  const tmp = `${headPath(logPath)}.tmp`;
  writeFileSync(tmp, JSON.stringify({ seq: rec.seq, mac: rec.mac }), { mode: 0o600 });
  renameSync(tmp, headPath(logPath));
}

function readLastRecord(path: string): AuditRecord | undefined {
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n").filter((l) => l.length > 0);
  if (lines.length === 0) return undefined;
  const lastLine = lines[lines.length - 1];
  try {
    return JSON.parse(lastLine) as AuditRecord;
  } catch {
    throw new AuditError(`${path}:${lines.length}: last audit record is not valid JSON; run 'smgate audit verify'`);
  }
}
