// `smgate audit verify|tail|query` as a subprocess against a config whose keystore holds the audit key:
// an intact log verifies (exit 0), an edited one names the broken line (exit 1), tail/query filter records.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { AUDIT_KEY_NAME, auditKeyFrom } from "../../audit/chain.js";
import { AuditWriter } from "../../audit/writer.js";
import { initKeyStore } from "../../keystore/open.js";

const run = promisify(execFile);
const CLI = join(process.cwd(), "dist/cli/main.js");
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "smg-audit-cli-"));
  env = { ...process.env, SMG_AUDIT_TEST_MASTER: randomBytes(16).toString("hex") };
  const ks = await initKeyStore(
    { provider: "env", path: join(dir, "keystore.json"), master_key_env: "SMG_AUDIT_TEST_MASTER" },
    { env },
  );
  ks.createKey(AUDIT_KEY_NAME);
  ks.save();
  const w = new AuditWriter(join(dir, "audit.log"), auditKeyFrom(ks.keyRing()));
  w.record({ type: "login", actor: "doctor", app: "his", outcome: "ok" });
  w.record({
    type: "denial",
    actor: "analyst",
    target: "public.patients.id_card",
    action: "select",
    outcome: "denied",
  });
  w.record({ type: "key_operation", actor: "cli:root", target: "patients", action: "rotate", outcome: "ok" });
  w.close();
  ks.close();
  writeFileSync(join(dir, "policy.yaml"), "version: 1\n");
  writeFileSync(
    join(dir, "smgate.yaml"),
    "pg: { listen: 127.0.0.1:0, backend: 127.0.0.1:5432 }\nkeystore: { provider: env, path: ./keystore.json, master_key_env: SMG_AUDIT_TEST_MASTER }\npolicy: ./policy.yaml\naudit: { path: ./audit.log }\n",
  );
}, 120_000);

const cli = (...args: string[]) => run("node", [CLI, ...args], { env });

describe("smgate audit", () => {
  it("verify reports an intact chain", async () => {
    const { stdout } = await cli("audit", "verify", "--config", join(dir, "smgate.yaml"));
    expect(stdout).toMatch(/OK, 3 records/);
  });

  it("query and tail filter records", async () => {
    const q = await cli("audit", "query", "--config", join(dir, "smgate.yaml"), "--type", "denial", "--json");
    const recs = q.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ seq: 2, actor: "analyst", outcome: "denied" });
    const t = await cli("audit", "tail", "--config", join(dir, "smgate.yaml"), "-n", "1");
    expect(t.stdout).toMatch(/^3\t.*key_operation/);
  });

  it("verify names the first broken record and exits 1 after an edit", async () => {
    const log = join(dir, "audit.log");
    const edited = join(dir, "edited.log");
    writeFileSync(edited, readFileSync(log, "utf8").replace('"actor":"analyst"', '"actor":"nobody"'));
    const err = await cli("audit", "verify", "--config", join(dir, "smgate.yaml"), "--file", edited).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stdout).toMatch(/edited\.log:2: BROKEN at seq 2: MAC mismatch/);
  });
});
