// `smgate keys …` run as a subprocess of the built CLI (node dist/cli/main.js): output, exit codes, files.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sm2 } from "sm-crypto-v2";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openKeyStore } from "../../keystore/open.js";
import { clearKeys, containsKey, removeTempDirs, tempDir } from "./helpers.js";
import { createSoftHsmToken, SOFTHSM_MODULE } from "./softhsm.js";

const ROOT = join(import.meta.dirname, "..", "..");
const MAIN = join(ROOT, "dist", "cli", "main.js");
let dir: string;
const PASS = "correct horse battery staple";
const baseEnv = { PATH: process.env.PATH ?? "", SMG_CLI_PASS: PASS };

function smgate(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: dir,
    env: { ...baseEnv, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const POLICY = `version: 1
default_key: general
tables:
  public.patients:
    key: patients
    columns:
      id_card:   { protect: fpe, format: cn-id }
      diagnosis: { protect: encrypt, key: diagnosis }
  test.orders:
    columns:
      card: { protect: encrypt }
access:
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: test/global-setup.ts builds it`);
  dir = tempDir("smg-keystore-cli-");
  writeFileSync(join(dir, "policy.yaml"), POLICY);
  writeFileSync(
    join(dir, "smgate.yaml"),
    "pg: { listen: 127.0.0.1:6432, backend: 127.0.0.1:5432 }\n" +
      "keystore: { provider: file, path: ./keystore.json, passphrase_env: SMG_CLI_PASS }\n" +
      "policy: ./policy.yaml\n",
  );
}, 180_000);
afterAll(removeTempDirs);

describe.sequential("smgate keys", () => {
  test("--help names every command", () => {
    const r = smgate(["keys", "--help"]);
    expect(r.code).toBe(0);
    for (const c of ["init", "list", "rotate", "export-backup", "import-backup", "destroy"]) expect(r.out).toContain(c);
    expect(smgate(["keys", "destroy", "--help"]).out).toContain("--yes");
  });

  test("init --config creates the keystore (0600) with a DEK per policy key name", () => {
    const r = smgate(["keys", "init", "--config", "smgate.yaml"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/created keystore .*keystore\.json \(provider file, master key id \d+\)/);
    for (const n of ["diagnosis", "general", "patients", "smgate.audit"])
      expect(r.out).toMatch(new RegExp(`DEK \\d+  ${n}\\n`));
    expect(r.out).toContain("3 data key(s)");
    expect(statSync(join(dir, "keystore.json")).mode & 0o777).toBe(0o600);
    const again = smgate(["keys", "init", "--config", "smgate.yaml"]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists; refusing to overwrite it/);
  });

  test("list prints a table and never key bytes", async () => {
    const r = smgate(["keys", "list", "-c", "smgate.yaml"]);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+NAME\s+LEVEL\s+STATE\s+CREATED\s+PARENT$/);
    expect(lines).toHaveLength(6); // header + default KEK + 3 DEKs + audit key
    const ks = await openKeyStore({ provider: "file", path: join(dir, "keystore.json") }, { passphrase: PASS });
    const keys = clearKeys(ks);
    ks.close();
    for (const k of keys) expect(containsKey(JSON.stringify(r.out), k.key!)).toBe(false);
    const json = JSON.parse(smgate(["keys", "list", "-c", "smgate.yaml", "--json"]).out);
    expect(json.map((k: { name: string }) => k.name).sort()).toEqual([
      "default",
      "diagnosis",
      "general",
      "patients",
      "smgate.audit",
    ]);
  });

  test("rotate makes the old key decrypt-only", () => {
    const before = JSON.parse(smgate(["keys", "list", "-c", "smgate.yaml", "--json"]).out);
    const old = before.find((k: { name: string }) => k.name === "patients");
    const r = smgate(["keys", "rotate", "patients", "-c", "smgate.yaml"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`rotated "patients": new active key \\d+; key ${old.keyId} is now decrypt-only`));
    const after = JSON.parse(smgate(["keys", "list", "-c", "smgate.yaml", "--json"]).out);
    expect(after.find((k: { keyId: number }) => k.keyId === old.keyId).state).toBe("decrypt-only");
    expect(
      after.filter((k: { name: string; state: string }) => k.name === "patients" && k.state === "active"),
    ).toHaveLength(1);
  });

  test("destroy needs --yes off a terminal; with it the key is destroyed", () => {
    const list = JSON.parse(smgate(["keys", "list", "-c", "smgate.yaml", "--json"]).out);
    const old = list.find((k: { state: string }) => k.state === "decrypt-only");
    const refused = smgate(["keys", "destroy", String(old.keyId), "-c", "smgate.yaml"]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("refusing to destroy a key without --yes when not on a terminal");
    const ok = smgate(["keys", "destroy", String(old.keyId), "-c", "smgate.yaml", "--yes"]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`destroyed key ${old.keyId} ("patients")`);
    const unknown = smgate(["keys", "destroy", "12345", "-c", "smgate.yaml", "--yes"]);
    expect(unknown.err).toContain("key 12345 is not in keystore");
  });

  test("wrong passphrase and a damaged file fail with exit code 1 and a clear message", () => {
    const wrong = smgate(["keys", "list", "-c", "smgate.yaml"], { SMG_CLI_PASS: "nope" });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/^smgate: wrong passphrase for keystore file .*keystore\.json/);
    const path = join(dir, "keystore.json");
    const good = readFileSync(path, "utf8");
    writeFileSync(path, good.slice(0, 200));
    const cut = smgate(["keys", "list", "-c", "smgate.yaml"]);
    expect(cut.code).toBe(1);
    expect(cut.err).toContain(`keystore file ${path} is not valid JSON (truncated or corrupted)`);
    writeFileSync(path, good.replace('"name": "general"', '"name": "generaL"'));
    const edited = smgate(["keys", "list", "-c", "smgate.yaml"]);
    expect(edited.err).toContain("integrity check failed — the key table was modified outside smgate");
    writeFileSync(path, good);
  });

  test("init refuses fewer than 200,000 PBKDF2 iterations", () => {
    const r = smgate([
      "keys",
      "init",
      "--keystore",
      "weak.json",
      "--passphrase-env",
      "SMG_CLI_PASS",
      "--iterations",
      "1000",
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("below the minimum of 200000");
    expect(existsSync(join(dir, "weak.json"))).toBe(false);
  });

  test("export-backup to SM2 and import-backup into an env-provider keystore keep ids and the policy", () => {
    const pair = sm2.generateKeyPairHex();
    writeFileSync(join(dir, "backup.pub"), pair.publicKey);
    const ex = smgate([
      "keys",
      "export-backup",
      "-c",
      "smgate.yaml",
      "-o",
      "b-sm2.json",
      "--sm2-public-key",
      "backup.pub",
    ]);
    expect(ex.code).toBe(0);
    expect(ex.out).toContain("wrote backup of 6 key(s) and the policy to b-sm2.json");
    const newMaster = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    const imp = smgate(
      [
        "keys",
        "import-backup",
        "-i",
        "b-sm2.json",
        "--sm2-private-key-env",
        "SMG_SM2",
        "--keystore",
        "restored.json",
        "--provider",
        "env",
        "--master-key-env",
        "SMG_MASTER",
        "--policy-out",
        "p2.yaml",
      ],
      { SMG_SM2: pair.privateKey, SMG_MASTER: newMaster },
    );
    expect(imp.err).toBe("");
    expect(imp.out).toContain("restored 6 key(s) from b-sm2.json");
    expect(readFileSync(join(dir, "p2.yaml"), "utf8")).toBe(POLICY);
    const orig = JSON.parse(smgate(["keys", "list", "-c", "smgate.yaml", "--json"]).out);
    const restored = JSON.parse(
      smgate(
        [
          "keys",
          "list",
          "--keystore",
          "restored.json",
          "--provider",
          "env",
          "--master-key-env",
          "SMG_MASTER",
          "--json",
        ],
        {
          SMG_MASTER: newMaster,
        },
      ).out,
    );
    const strip = (l: { keyId: number; name: string; state: string; level: string }[]) =>
      l.map((k) => `${k.keyId}/${k.name}/${k.level}/${k.state}`).sort();
    expect(strip(restored)).toEqual(strip(orig));
  });

  test("ceremony: officer key pair from `smgate policy keygen`, backup to officer.pub, restore with officer.key", () => {
    const kg = smgate(["policy", "keygen", "--out", "officer"]);
    expect(kg.code).toBe(0);
    const ex = smgate([
      "keys",
      "export-backup",
      "-c",
      "smgate.yaml",
      "-o",
      "b-officer.json",
      "--sm2-public-key",
      "officer.pub",
    ]);
    expect(ex.code).toBe(0);
    const master = "00112233445566778899aabbccddeeff";
    const restore = (key: string) =>
      smgate(
        [
          "keys",
          "import-backup",
          "-i",
          "b-officer.json",
          "--sm2-private-key-file",
          key,
          "--keystore",
          `r-${key}.json`,
          "--provider",
          "env",
          "--master-key-env",
          "SMG_MASTER",
        ],
        { SMG_MASTER: master },
      );
    const wrong = smgate(["policy", "keygen", "--out", "intruder"]);
    expect(wrong.code).toBe(0);
    const refused = restore("intruder.key");
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("the SM2 private key does not decrypt this backup");
    const ok = restore("officer.key");
    expect(ok.err).toBe("");
    expect(ok.out).toContain("restored 6 key(s) from b-officer.json");
  });

  test("a tampered passphrase backup is refused and leaves no keystore behind", () => {
    const ex = smgate(
      ["keys", "export-backup", "-c", "smgate.yaml", "-o", "b-pass.json", "--backup-passphrase-env", "SMG_BK"],
      {
        SMG_BK: "backup passphrase 1",
      },
    );
    expect(ex.code).toBe(0);
    const doc = JSON.parse(readFileSync(join(dir, "b-pass.json"), "utf8"));
    const p = Buffer.from(doc.payload, "base64");
    p[40] ^= 1;
    writeFileSync(join(dir, "b-bad.json"), JSON.stringify({ ...doc, payload: p.toString("base64") }));
    const args = [
      "keys",
      "import-backup",
      "--backup-passphrase-env",
      "SMG_BK",
      "--keystore",
      "r2.json",
      "--passphrase-env",
      "SMG_CLI_PASS",
    ];
    const bad = smgate([...args, "-i", "b-bad.json"], { SMG_BK: "backup passphrase 1" });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("b-bad.json: integrity check failed: the backup was modified or damaged");
    expect(existsSync(join(dir, "r2.json"))).toBe(false);
    const wrong = smgate([...args, "-i", "b-pass.json"], { SMG_BK: "other" });
    expect(wrong.err).toContain("wrong backup passphrase");
    const ok = smgate([...args, "-i", "b-pass.json"], { SMG_BK: "backup passphrase 1" });
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("the backup carries a policy; use --policy-out FILE to write it");
  });

  test("on a terminal: passphrases are asked without echo, destroy asks to type the key id", () => {
    const tty = (args: string[], steps: [string, string][]) => {
      const spec = JSON.stringify({ argv: [process.execPath, MAIN, ...args], steps });
      const r = spawnSync("python3", [join(import.meta.dirname, "pty-drive.py"), spec], {
        cwd: dir,
        env: baseEnv,
        encoding: "utf8",
        timeout: 120_000,
      });
      return { code: r.status, out: r.stdout + r.stderr };
    };
    const secret = "typed-on-a-tty-0123";
    const init = tty(
      ["keys", "init", "--keystore", "tty.json"],
      [
        ["New keystore passphrase: ", secret],
        ["Repeat it: ", secret + "-typo"],
        ["New keystore passphrase: ", secret],
        ["Repeat it: ", secret],
      ],
    );
    expect(init.code).toBe(0);
    expect(init.out).toContain("created keystore");
    expect(init.out).not.toContain(secret);
    const create = tty(["keys", "create", "victim", "--keystore", "tty.json"], [["Passphrase for ", secret]]);
    expect(create.out).not.toContain(secret);
    const id = /created DEK (\d+) for "victim"/.exec(create.out)?.[1];
    expect(id).toBeDefined();
    const keep = tty(
      ["keys", "destroy", id!, "--keystore", "tty.json"],
      [
        ["Passphrase for ", secret],
        ["Type the key id to confirm: ", "no"],
      ],
    );
    expect(keep.out).toContain("not destroyed");
    const gone = tty(
      ["keys", "destroy", id!, "--keystore", "tty.json"],
      [
        ["Passphrase for ", secret],
        ["Type the key id to confirm: ", id!],
      ],
    );
    expect(gone.code).toBe(0);
    expect(gone.out).toContain(`destroyed key ${id} ("victim")`);
  });

  test("pkcs11 provider through flags against a SoftHSM2 token", () => {
    const token = createSoftHsmToken(tempDir("smg-keystore-cli-p11-"));
    const flags = [
      "--keystore",
      "p11.json",
      "--provider",
      "pkcs11",
      "--pkcs11-module",
      SOFTHSM_MODULE,
      "--token-label",
      token.label,
      "--pin-env",
      "SMG_PIN",
      "--key-label",
      "cli-master",
    ];
    const env = { SMG_PIN: token.pin, SOFTHSM2_CONF: token.conf };
    const init = smgate(["keys", "init", ...flags, "--policy", "policy.yaml"], env);
    expect(init.err).toBe("");
    expect(init.out).toContain("(provider pkcs11,");
    const list = smgate(["keys", "list", ...flags], env);
    expect(list.out.trim().split("\n")).toHaveLength(6);
    const badPin = smgate(["keys", "list", ...flags], { ...env, SMG_PIN: "999999" });
    expect(badPin.err).toContain(`wrong PIN for PKCS#11 token "${token.label}"`);
  });
});
