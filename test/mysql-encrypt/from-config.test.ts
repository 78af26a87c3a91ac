// What `smgate start --config` will build for the mysql listener: smgate.yaml → keystore + policy + MySQL
// encryption hooks (mysqlEncryptionFromConfig), policy reload from the file reaching open sessions, and
// nothing installed when the policy protects no table.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initKeyStore } from "../../keystore/open.js";
import { loadConfig } from "../../policy/config.js";
import { mysqlEncryptionFromConfig } from "../../proxy/mysql/encrypt/from-config.js";
import { startMysqlGateway } from "../../proxy/mysql/index.js";
import { adminQuery, MARIADB } from "./encrypt-fixture.js";

const ENV = "SMG_MYENC_START_MASTER";
let dir: string;
let db: string;
const silent = pino({ level: "silent" });

const policy = (app: string) => `
version: 1
tables:
  ${db}.patients:
    columns:
      phone: { protect: encrypt, mode: deterministic, key: patients }
access:
  - name: his
    match: { users: [root], apps: [${app}] }
    plaintext: [${db}.patients.*]
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "smg-myenc-start-"));
  process.env[ENV] = randomBytes(16).toString("hex");
  const ks = await initKeyStore({ provider: "env", path: join(dir, "ks.json"), master_key_env: ENV });
  ks.createKey("patients");
  ks.save();
  db = `smg_myenc_start_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE \`${db}\``);
  await adminQuery("CREATE TABLE patients (id INT PRIMARY KEY, phone VARCHAR(200))", db);
}, 60_000);

afterAll(async () => {
  if (db) await adminQuery(`DROP DATABASE IF EXISTS \`${db}\``);
});

function writeConfig(policyText: string): string {
  writeFileSync(join(dir, "policy.yaml"), policyText);
  const cfg = join(dir, "smgate.yaml");
  writeFileSync(
    cfg,
    `mysql: { listen: 127.0.0.1:0, backend: 127.0.0.1:3306 }
keystore: { provider: env, path: ./ks.json, master_key_env: ${ENV} }
policy: ./policy.yaml
`,
  );
  return cfg;
}

describe("mysqlEncryptionFromConfig", () => {
  it("installs the encryption layer from smgate.yaml and reloads the policy file", async () => {
    const config = loadConfig(writeConfig(policy("his")));
    const enc = await mysqlEncryptionFromConfig(config, { logger: silent });
    expect(enc).toBeDefined();
    const gw = await startMysqlGateway({
      listen: "127.0.0.1:0",
      backend: "127.0.0.1:3306",
      hooks: enc!.hooks,
      logger: silent,
    });
    try {
      const { port } = gw.address();
      const c = await mysql.createConnection({
        host: "127.0.0.1",
        port,
        user: "root",
        database: db,
        connectAttributes: { program_name: "his" },
      });
      await c.execute("INSERT INTO patients (id, phone) VALUES (?, ?)", [1, "13800000001"]);
      const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT phone FROM patients WHERE id = 1");
      expect(rows).toEqual([{ phone: "13800000001" }]);
      const d = await mysql.createConnection({ ...MARIADB, database: db });
      const [stored] = await d.query<mysql.RowDataPacket[]>("SELECT phone FROM patients WHERE id = 1");
      await d.end();
      expect(stored[0].phone).toMatch(/^smg1:/);
      // the file now grants app "his2" only: the reload reaches the open session
      writeFileSync(join(dir, "policy.yaml"), policy("his2"));
      enc!.reloadPolicy();
      await expect(c.query("SELECT phone FROM patients WHERE id = 1")).rejects.toMatchObject({ errno: 1142 });
      await c.end();
    } finally {
      await gw.close();
      enc!.close();
    }
  });

  it("installs nothing when the policy protects no table", async () => {
    const config = loadConfig(writeConfig("version: 1\naccess:\n  - name: all\n    match: {}\n"));
    expect(await mysqlEncryptionFromConfig(config, { logger: silent })).toBeUndefined();
  });
});
