// `smgate report compliance` maps a configuration to GB/T 39786 level-3 requirements: encrypted columns make
// storage confidentiality "met", FPE-only integrity is "partial", missing TLS/audit/signature are "not met"
// with an action; the HTML form escapes and lists every protected column; the file keystore reads "partial".
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { initKeyStore } from "../../keystore/open.js";
import { loadConfig } from "../../policy/config.js";
import { loadPolicy } from "../../policy/policy-loader.js";
import { buildComplianceReport } from "../../report/compliance.js";

const run = promisify(execFile);
let dir: string;

const POLICY = `version: 1
tables:
  public.patients:
    row_key: [id]
    columns:
      id_card:   { protect: fpe, format: cn-id, key: patients }
      diagnosis: { protect: encrypt, key: patients }
      balance:   { protect: mac, type: numeric, key: patients }
access:
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "smg-report-"));
  writeFileSync(join(dir, "policy.yaml"), POLICY);
  const env = { SMG_REPORT_MASTER: randomBytes(16).toString("hex") };
  const ks = await initKeyStore(
    { provider: "env", path: join(dir, "keystore.json"), master_key_env: "SMG_REPORT_MASTER" },
    { env },
  );
  ks.createKey("patients");
  ks.save();
  ks.close();
  writeFileSync(
    join(dir, "plain.yaml"),
    "pg: { listen: 127.0.0.1:6432, backend: 127.0.0.1:5432 }\nkeystore: { provider: env, path: ./keystore.json, master_key_env: SMG_REPORT_MASTER }\npolicy: ./policy.yaml\n",
  );
  writeFileSync(
    join(dir, "hardened.yaml"),
    `pg: { listen: 127.0.0.1:6432, backend: 127.0.0.1:5432, tls: { cert: c.pem, key: k.pem }, backend_tls: true }
keystore: { provider: env, path: ./keystore.json, master_key_env: SMG_REPORT_MASTER }
policy: ./policy.yaml
policy_signature: { public_key: ./officer.pub, required: true }
audit: { path: ./audit.log }
`,
  );
}, 120_000);

function statusOf(configFile: string): Record<string, string> {
  const cfg = loadConfig(join(dir, configFile));
  const rep = buildComplianceReport(configFile, cfg, loadPolicy(cfg.policy));
  return Object.fromEntries(rep.requirements.map((r) => [r.id, r.status]));
}

describe("compliance report", () => {
  it("reports gaps of a bare configuration with actions", () => {
    const s = statusOf("plain.yaml");
    expect(s["8.4-storage-confidentiality"]).toBe("met");
    expect(s["8.4-storage-integrity"]).toBe("partial");
    expect(s["8.4-transmission-confidentiality"]).toBe("not_met");
    expect(s["8.4-access-control-integrity"]).toBe("not_met");
    expect(s["8.6-audit"]).toBe("not_met");
    expect(s["8.5-key-management"]).toBe("partial");
  });

  it("credits TLS, signed policy and audit when configured", () => {
    const s = statusOf("hardened.yaml");
    expect(s["8.4-transmission-confidentiality"]).toBe("partial");
    expect(s["8.4-access-control-integrity"]).toBe("met");
    expect(s["8.6-audit"]).toBe("met");
  });

  it("CLI writes markdown and HTML listing every protected column", async () => {
    const md = await run("node", ["dist/cli/main.js", "report", "compliance", "--config", join(dir, "plain.yaml")]);
    expect(md.stdout).toContain(
      "| public.patients.diagnosis | encrypt | SM4-CTR + HMAC-SM3 tag (randomized) | patients |",
    );
    expect(md.stdout).toContain("public.patients.id_card");
    expect(md.stdout).toContain("public.patients.balance");
    const out = join(dir, "report.html");
    await run("node", [
      "dist/cli/main.js",
      "report",
      "compliance",
      "--config",
      join(dir, "plain.yaml"),
      "--format",
      "html",
      "-o",
      out,
    ]);
    const html = (await import("node:fs")).readFileSync(out, "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("FF1-SM4 format-preserving (cn-id)");
    expect(html).not.toContain("<script");
  });
});
