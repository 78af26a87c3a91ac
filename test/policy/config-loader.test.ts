// smgate.yaml loader: the SPEC §3 minimal file loads with documented defaults and resolved paths; malformed
// files report every problem at once with exact file:line:col.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseByteSize, parseConfig } from "../../policy/config.js";

const dir = mkdtempSync(join(tmpdir(), "smg-policy-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MINIMAL = `pg:       { listen: 127.0.0.1:6432, backend: 127.0.0.1:5432 }
mysql:    { listen: 127.0.0.1:3307, backend: 127.0.0.1:3306 }
keystore: { provider: file, path: ./keystore.json, passphrase_env: SMGATE_PASSPHRASE }
policy:   ./policy.yaml
metrics:  { listen: 127.0.0.1:9187 }
admin:    { listen: 127.0.0.1:8443 }
audit:    { path: ./audit.log }
`;

function problemsOf(text: string, file = "smgate.yaml"): string[] {
  try {
    parseConfig(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.map((p) => `${p.line}:${p.col}: ${p.message}`);
  }
  throw new Error("expected a ConfigError");
}

describe("smgate.yaml loader", () => {
  it("loads the SPEC minimal file, resolves relative paths against the file's folder, applies defaults", () => {
    const f = join(dir, "smgate.yaml");
    writeFileSync(f, MINIMAL);
    const c = loadConfig(f);
    expect(c.pg).toEqual({ listen: "127.0.0.1:6432", backend: "127.0.0.1:5432" });
    expect(c.keystore).toEqual({
      provider: "file",
      path: join(dir, "keystore.json"),
      passphrase_env: "SMGATE_PASSPHRASE",
    });
    expect(c.policy).toBe(join(dir, "policy.yaml"));
    expect(c.audit).toEqual({ path: join(dir, "audit.log") });
    expect(c.limits).toEqual({ max_connections: 1000, max_message_bytes: 64 * 1024 * 1024 });
    expect(c.mode).toBe("enforce");
    expect(c.workers).toBeUndefined();
    expect(c.configDir).toBe(dir);
  });

  it("keeps absolute paths, resolves tls files and accepts byte sizes with units", () => {
    const c = parseConfig(
      `pg:
  listen: "[::1]:6432"
  backend: db.internal:5432
  tls: { cert: certs/server.pem, key: /etc/smgate/server.key }
  backend_tls: { ca: ca.pem, reject_unauthorized: true }
keystore: { provider: pkcs11, path: ks.json, pkcs11: { module: /usr/lib/softhsm/libsofthsm2.so, pin_env: PIN } }
policy: /etc/smgate/policy.yaml
limits: { max_connections: 50, max_message_bytes: 16MiB, statement_timeout_ms: 5000 }
workers: 2
`,
      "/srv/conf/smgate.yaml",
    );
    expect(c.pg?.tls).toEqual({ cert: "/srv/conf/certs/server.pem", key: "/etc/smgate/server.key" });
    expect(c.pg?.backend_tls).toEqual({ ca: "/srv/conf/ca.pem", reject_unauthorized: true });
    expect(c.keystore.pkcs11?.module).toBe("/usr/lib/softhsm/libsofthsm2.so");
    expect(c.policy).toBe("/etc/smgate/policy.yaml");
    expect(c.limits).toEqual({ max_connections: 50, max_message_bytes: 16 * 1024 * 1024, statement_timeout_ms: 5000 });
    expect(c.workers).toBe(2);
  });

  it("reports every problem at once with line:col", () => {
    const text = `pg:
  listen: 127.0.0.1:99999
  backend: 127.0.0.1:5432
  tsl: { cert: a, key: b }
keystore:
  provider: vault
  path: ./ks.json
limits:
  max_connections: "many"
  max_message_bytes: 12 parsecs
metrics: { listen: 127.0.0.1:9187 }
unknown_top: 1
`;
    expect(problemsOf(text)).toEqual([
      '1:1: missing required key "policy" at top level',
      '2:11: pg.listen: expected "host:port" (e.g. 127.0.0.1:6432, [::1]:6432) with port 0-65535',
      '4:3: unknown key "tsl" in pg',
      '6:13: keystore.provider: must be one of "file", "env", "pkcs11"',
      "9:20: limits.max_connections: expected number, got string",
      '10:22: limits.max_message_bytes: expected a positive byte size: an integer or a string like "64MiB", "512KiB", "10MB"',
      '12:1: unknown key "unknown_top" at top level',
    ]);
  });

  it("reports duplicate keys, nested missing keys, cross-field rules and bad unions", () => {
    const text = [
      "pg: {listen: 1.2.3.4:5, backend: x:1}",
      "keystore: {provider: pkcs11, path: a}",
      "policy: p",
      "policy: q",
      "admin:",
      "  listen: 1.2.3.4:5",
      "  tls: {cert: x}",
      "workers: 0",
      "mysql: {listen: a:1, backend: b:2, backend_tls: 3}",
      "",
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      '2:22: keystore.provider: provider "pkcs11" needs a "pkcs11" section',
      '4:1: duplicate key "policy"',
      '7:8: missing required key "key" in admin.tls',
      "8:10: workers: must be at least 1",
      "9:49: mysql.backend_tls: expected true, false or a mapping {ca, reject_unauthorized, servername}",
    ]);
  });

  it("reports a listen address used twice; a config without listeners loads (keys, audit and plugin commands use it)", () => {
    expect(
      problemsOf(
        "pg: {listen: 0.0.0.0:1, backend: h:2}\nmetrics: {listen: 0.0.0.0:1}\nkeystore: {provider: env, path: k}\npolicy: p\n",
      ),
    ).toEqual(["2:19: listen address 0.0.0.0:1 already used by pg.listen"]);
    const c = parseConfig(
      "keystore: {provider: env, path: k, master_key_env: K}\npolicy: p\naudit: {path: a.log}\n",
      "/x/s.yaml",
    );
    expect(c.pg).toBeUndefined();
    expect(c.mysql).toBeUndefined();
    expect(c.audit).toEqual({ path: "/x/a.log" });
  });

  it("reports YAML syntax errors, a non-mapping document and an unreadable file", () => {
    expect(problemsOf("pg: [\n")[0]).toMatch(/^2:1: YAML syntax: /);
    expect(problemsOf("- a\n")).toEqual(["1:1: expected a mapping at top level (keystore, policy, pg, mysql, ...)"]);
    expect(() => loadConfig(join(dir, "missing.yaml"))).toThrow(
      /missing\.yaml:1:1: cannot read config file \(ENOENT\)/,
    );
  });
});

describe("byte sizes", () => {
  it("parses integers and unit strings", () => {
    expect(parseByteSize(1)).toBe(1);
    expect(parseByteSize("64MiB")).toBe(67108864);
    expect(parseByteSize("512 KiB")).toBe(524288);
    expect(parseByteSize("10MB")).toBe(10_000_000);
    expect(parseByteSize("0")).toBeUndefined();
    expect(parseByteSize(-5)).toBeUndefined();
    expect(parseByteSize("12 parsecs")).toBeUndefined();
  });
});
