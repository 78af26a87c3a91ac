// `smgate start` runs the MySQL listener from smgate.yaml: a transparent relay for the real `mariadb` client when
// the policy protects nothing, and with the MySQL encryption layer when it protects tables (stored ciphertext,
// plaintext through the gateway, the same process serving both); `--workers 2` does the same from cluster workers.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initKeyStore } from "../../keystore/open.js";

const run = promisify(execFile);
const CLI = join(process.cwd(), "dist/cli/main.js");
const ENV = "SMG_START_MYSQL_MASTER";
const master = randomBytes(16).toString("hex");
const db = `smg_start_my_${randomBytes(4).toString("hex")}`;
let dir: string;

const mariadb = (port: number, sql: string, database = db) =>
  run("mariadb", ["-h127.0.0.1", `-P${port}`, "-uroot", "-N", "-B", "-e", sql, database]).then((r) => r.stdout.trim());

function setup(policy: string): string {
  writeFileSync(join(dir, "policy.yaml"), policy);
  writeFileSync(
    join(dir, "smgate.yaml"),
    `mysql: { listen: 127.0.0.1:0, backend: 127.0.0.1:3306 }\nkeystore: { provider: env, path: ./ks.json, master_key_env: ${ENV} }\npolicy: ./policy.yaml\n`,
  );
  return join(dir, "smgate.yaml");
}

async function withStart<T>(config: string, args: string[], body: (port: number) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, [CLI, "start", "--config", config, "--log-level", "silent", ...args], {
    env: { ...process.env, [ENV]: master },
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => {
        out += d;
        const m = /mysql listening on [\d.]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.stderr.on("data", (d) => {
        err += d;
      });
      child.on("exit", (code) => reject(new Error(`smgate exited ${code}: ${out}${err}`)));
    });
    return await body(port);
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "smg-start-mysql-"));
  process.env[ENV] = master;
  const ks = await initKeyStore({ provider: "env", path: join(dir, "ks.json"), master_key_env: ENV });
  ks.createKey("patients");
  ks.save();
  await run("mariadb", ["-h127.0.0.1", "-P3306", "-uroot", "-e", `CREATE DATABASE ${db}`]);
  await mariadb(3306, "CREATE TABLE patients (id INT PRIMARY KEY, phone VARCHAR(200), diagnosis TEXT)");
}, 60_000);

afterAll(async () => {
  await run("mariadb", ["-h127.0.0.1", "-P3306", "-uroot", "-e", `DROP DATABASE IF EXISTS ${db}`]);
});

const PROTECTING = () => `version: 1
tables:
  ${db}.patients:
    columns:
      phone: { protect: encrypt, mode: deterministic, key: patients }
      diagnosis: { protect: encrypt, mode: randomized, key: patients }
access:
  - name: everyone
    match: {}
    plaintext: [${db}.patients.*]
`;

describe("smgate start with a mysql listener", () => {
  it("relays the mariadb client when the policy protects nothing", async () => {
    const out = await withStart(setup("version: 1\n"), [], (port) => mariadb(port, "SELECT 6*7"));
    expect(out).toBe("42");
  });

  for (const workers of ["1", "2"]) {
    it(`encrypts protected columns with --workers ${workers}: ciphertext stored, plaintext through smgate`, async () => {
      const id = Number(workers);
      const phone = `1390000${String(1000 + id)}`;
      const through = await withStart(setup(PROTECTING()), ["--workers", workers], async (port) => {
        await mariadb(port, `INSERT INTO patients VALUES (${id}, '${phone}', 'flu ${id}')`);
        return mariadb(port, `SELECT id, phone, diagnosis FROM patients WHERE phone = '${phone}'`);
      });
      expect(through).toBe(`${id}\t${phone}\tflu ${id}`);
      const stored = await mariadb(3306, `SELECT phone, diagnosis FROM patients WHERE id = ${id}`);
      expect(stored).not.toContain(phone);
      expect(stored).not.toContain(`flu ${id}`);
      expect(stored.split("\t").every((v) => v.startsWith("smg1:"))).toBe(true);
    });
  }
});
