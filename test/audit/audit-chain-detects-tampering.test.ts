// The audit log's HMAC-SM3 chain: a clean log verifies; an edit, a deletion (middle and tail), an insertion
// and a reordering are each reported at the first broken record; the writer continues a chain across reopen.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { queryAuditLog } from "../../audit/query.js";
import { verifyAuditLog } from "../../audit/verify.js";
import { AuditWriter } from "../../audit/writer.js";

const key = randomBytes(32);
let path: string;

function writeSample(n: number): void {
  const w = new AuditWriter(path, key);
  for (let i = 0; i < n; i++) {
    w.record({ type: i % 2 ? "denial" : "login", actor: `user${i}`, target: "public.patients", outcome: "ok" });
  }
  w.close();
}
function lines(): string[] {
  return readFileSync(path, "utf8").trimEnd().split("\n");
}
function rewrite(ls: string[]): void {
  writeFileSync(path, `${ls.join("\n")}\n`);
}

describe("audit chain", () => {
  beforeEach(() => {
    path = join(mkdtempSync(join(tmpdir(), "smg-audit-")), "audit.log");
  });

  it("verifies an untouched log and continues the chain after reopening", () => {
    writeSample(5);
    writeSample(3);
    const res = verifyAuditLog(path, key);
    expect(res).toEqual({ ok: true, records: 8 });
    expect(queryAuditLog(path, { type: ["denial"] }).length).toBe(3);
  });

  it("reports an edited record", () => {
    writeSample(6);
    const ls = lines();
    ls[3] = ls[3].replace('"actor":"user3"', '"actor":"mallory"');
    rewrite(ls);
    expect(verifyAuditLog(path, key).broken).toMatchObject({ line: 4, seq: 4, reason: expect.stringMatching(/MAC/) });
  });

  it("reports a deleted record at the record after it", () => {
    writeSample(6);
    const ls = lines();
    ls.splice(2, 1);
    rewrite(ls);
    expect(verifyAuditLog(path, key).broken).toMatchObject({ line: 3, seq: 4, reason: expect.stringMatching(/chain/) });
  });

  it("reports records removed from the end", () => {
    writeSample(6);
    rewrite(lines().slice(0, 4));
    expect(verifyAuditLog(path, key).broken).toMatchObject({ line: 5, reason: expect.stringMatching(/removed/) });
  });

  it("reports an inserted record", () => {
    writeSample(4);
    const ls = lines();
    const forged = { ...JSON.parse(ls[1]), actor: "forged" };
    ls.splice(2, 0, JSON.stringify(forged));
    rewrite(ls);
    expect(verifyAuditLog(path, key).broken).toMatchObject({ line: 3, reason: expect.stringMatching(/MAC/) });
  });

  it("reports reordered records", () => {
    writeSample(5);
    const ls = lines();
    [ls[1], ls[2]] = [ls[2], ls[1]];
    rewrite(ls);
    expect(verifyAuditLog(path, key).broken).toMatchObject({ line: 2, seq: 3 });
  });

  it("rejects verification under a different key", () => {
    writeSample(2);
    expect(verifyAuditLog(path, randomBytes(32)).broken).toMatchObject({ line: 1 });
  });
});
