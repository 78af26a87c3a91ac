// What `smgate start --config` builds: smgate.yaml → keystore + policy + encryption hooks on the PG listener
// (pgEncryptionFromConfig), policy reload from the file, nothing installed when the policy protects no
// table, and a key missing from the keystore refusing writes of its column (fail closed, 58000).
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initKeyStore } from "../../keystore/open.js";
import { loadConfig } from "../../policy/config.js";
import { pgEncryptionFromConfig } from "../../proxy/pg/encrypt/from-config.js";
import { startGateway } from "../../proxy/server.js";
import { adminQuery, withClient } from "./encrypt-fixture.js";
import { PATIENTS_POLICY, PATIENTS_SQL } from "./patients-schema.js";

const ENV = "SMG_PGENC_START_MASTER";
let dir: string;
let db: string;
const silent = pino({ level: "silent" });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "smg-pgenc-start-"));
  process.env[ENV] = randomBytes(16).toString("hex");
  const ks = await initKeyStore({ provider: "env", path: join(dir, "ks.json"), master_key_env: ENV });
  ks.createKey("patients");
  ks.save();
  db = `smg_pgenc_start_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${db}`);
  await adminQuery(PATIENTS_SQL, db);
}, 60_000);
afterAll(async () => {
  if (db) await adminQuery(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
});

function writeConfig(policyText: string): string {
  writeFileSync(join(dir, "policy.yaml"), policyText);
  const cfg = join(dir, "smgate.yaml");
  writeFileSync(
    cfg,
    `pg: { listen: 127.0.0.1:0, backend: 127.0.0.1:5432 }
keystore: { provider: env, path: ./ks.json, master_key_env: ${ENV} }
policy: ./policy.yaml
`,
  );
  return cfg;
}

async function run(policyText: string, fn: (port: number, reload: () => void) => Promise<void>) {
  const config = loadConfig(writeConfig(policyText));
  const enc = await pgEncryptionFromConfig(config, {
    logger: silent,
    env: { ...process.env, SMGATE_CATALOG_DATABASES: db },
  });
  expect(enc).toBeDefined();
  const gw = await startGateway(config, { logger: silent, pgHooks: enc!.hooks });
  try {
    await fn(gw.pg!.address().port, () => enc!.reloadPolicy());
  } finally {
    await gw.shutdown(2000);
    enc!.close();
  }
}

const client = (port: number, app = "his") =>
  new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: db, application_name: app });

describe("smgate start wiring", () => {
  it("installs the encryption layer from smgate.yaml and reloads the policy file", async () => {
    await run(PATIENTS_POLICY, async (port, reload) => {
      await withClient(client(port), async (c) => {
        await c.query("INSERT INTO patients (id, phone) VALUES ($1, $2)", [1, "13800000001"]);
        expect((await c.query("SELECT phone FROM patients WHERE id = 1")).rows).toEqual([{ phone: "13800000001" }]);
      });
      const [s] = (await adminQuery("SELECT phone FROM patients WHERE id = 1", db)).rows;
      expect(s.phone).toMatch(/^smg1:/);
      // the file now denies app "his": reloading it applies to new statements
      writeFileSync(join(dir, "policy.yaml"), PATIENTS_POLICY.replace("apps: [his]", "apps: [his2]"));
      reload();
      await withClient(client(port), async (c) => {
        await expect(c.query("SELECT phone FROM patients")).rejects.toMatchObject({ code: "42501" });
      });
    });
  });

  it("installs nothing when the policy protects no table", async () => {
    const config = loadConfig(writeConfig("version: 1\ntables: {}\naccess: []\n"));
    expect(await pgEncryptionFromConfig(config, { logger: silent })).toBeUndefined();
  });

  it("a key missing from the keystore refuses writes of its column (58000, fail closed)", async () => {
    await run(
      PATIENTS_POLICY.replace(
        "diagnosis: { protect: encrypt, key: patients }",
        "diagnosis: { protect: encrypt, key: nokey }",
      ),
      async (port) => {
        await withClient(client(port), async (c) => {
          await expect(c.query("INSERT INTO patients (id, diagnosis) VALUES (2, $1)", ["x"])).rejects.toMatchObject({
            code: "58000",
            message: expect.stringContaining("public.patients.diagnosis"),
          });
          await expect(c.query("INSERT INTO patients (id, diagnosis) VALUES (2, 'x')")).rejects.toMatchObject({
            code: "58000",
          });
          // nothing was written
          expect((await adminQuery("SELECT count(*)::int AS n FROM patients WHERE id = 2", db)).rows[0].n).toBe(0);
        });
      },
    );
  });
});
