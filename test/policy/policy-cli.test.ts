// `smgate policy validate|sign|verify|keygen` and loading a signed policy through smgate.yaml's
// policy_signature section.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type CliIo, runPolicyKeygen, runPolicySign, runPolicyValidate, runPolicyVerify } from "../../cli/policy.js";
import { parseConfig } from "../../policy/config.js";
import { PolicyHolder } from "../../policy/holder.js";
import { PolicyError } from "../../policy/policy-loader.js";

const dir = mkdtempSync(join(tmpdir(), "smg-policy-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): CliIo & { text: () => string } {
  let t = "";
  return { out: (s) => (t += s), err: (s) => (t += s), text: () => t };
}

const GOOD = `version: 1
tables:
  public.t:
    columns:
      c: { protect: encrypt, mode: deterministic, blind_index: true }
access:
  - name: all
    plaintext: [public.t.c]
`;

describe("policy validate", () => {
  it("exit 0 with a summary and the warnings for a valid file", async () => {
    const f = join(dir, "good.yaml");
    writeFileSync(f, GOOD);
    const io = capture();
    expect(await runPolicyValidate(f, {}, io)).toBe(0);
    expect(io.text()).toContain(`${f}:5:51: warning: blind_index on a deterministic column`);
    expect(io.text()).toContain(`${f}: OK (1 tables, 1 protected columns, 1 access rules, 1 warning(s))`);
  });

  it("exit 1 listing every error as file:line:col", async () => {
    const f = join(dir, "bad.yaml");
    writeFileSync(
      f,
      "version: 1\ntables:\n  public.t:\n    columns:\n      c: { protect: fpe }\n      d: { protect: nope }\n",
    );
    const io = capture();
    expect(await runPolicyValidate(f, {}, io)).toBe(1);
    expect(io.text()).toContain(`${f}:5:10: protect: fpe needs a format`);
    expect(io.text()).toContain(`${f}:6:21: tables.public.t.columns.d.protect: must be one of`);
    expect(io.text()).toContain(`${f}: 2 error(s)`);
  });

  it("exit 1 for a missing file", async () => {
    const io = capture();
    expect(await runPolicyValidate(join(dir, "none.yaml"), {}, io)).toBe(1);
    expect(io.text()).toContain("cannot read policy file (ENOENT)");
  });
});

describe("policy keygen / sign / verify", () => {
  it("signs, verifies, detects tampering; signed policy loads through smgate.yaml policy_signature", async () => {
    const prefix = join(dir, "officer");
    expect(runPolicyKeygen({ out: prefix }, capture())).toBe(0);
    expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
    const policy = join(dir, "policy.yaml");
    writeFileSync(policy, GOOD);
    expect(runPolicySign({ key: `${prefix}.key`, policy }, capture())).toBe(0);
    expect(readFileSync(`${policy}.sig`, "utf8")).toMatch(/^[0-9a-f]+\n$/);
    const ok = capture();
    expect(runPolicyVerify({ pub: `${prefix}.pub`, policy }, ok)).toBe(0);
    expect(ok.text()).toContain("signature OK");
    // hex keys on the command line work too
    const pubHex = readFileSync(`${prefix}.pub`, "utf8").trim();
    expect(runPolicyVerify({ pub: pubHex, policy }, capture())).toBe(0);

    const conf = parseConfig(
      `pg: { listen: 127.0.0.1:0, backend: 127.0.0.1:5432 }\nkeystore: { provider: env, path: ks.json, master_key_env: K }\npolicy: policy.yaml\npolicy_signature: { public_key: officer.pub }\n`,
      join(dir, "smgate.yaml"),
    );
    expect(conf.policy_signature).toEqual({ public_key: `${prefix}.pub`, required: true });
    const holder = PolicyHolder.fromConfig(conf);
    const cfgFile = join(dir, "smgate.yaml");
    writeFileSync(
      cfgFile,
      "pg: { listen: 127.0.0.1:0, backend: 127.0.0.1:5432 }\nkeystore: { provider: env, path: ks.json, master_key_env: K }\npolicy: policy.yaml\npolicy_signature: { public_key: officer.pub }\n",
    );
    const viaConfig = capture();
    expect(await runPolicyValidate(undefined, { config: cfgFile }, viaConfig)).toBe(0);
    expect(viaConfig.text()).toContain(`${policy}: OK`);
    expect(holder.current().protection("public.t", "c")?.mode).toBe("deterministic");

    writeFileSync(policy, GOOD.replace("name: all", "name: everyone"));
    const bad = capture();
    expect(runPolicyVerify({ pub: `${prefix}.pub`, policy }, bad)).toBe(1);
    expect(bad.text()).toContain("does NOT verify");
    expect(() => PolicyHolder.fromConfig(conf)).toThrow(PolicyError);
    expect(holder.reloadFromFile().ok).toBe(false);
    const tampered = capture();
    expect(await runPolicyValidate(undefined, { config: cfgFile }, tampered)).toBe(1);
    expect(tampered.text()).toContain(`${policy}:1:1: SM2 signature does not verify`);
  });
});
