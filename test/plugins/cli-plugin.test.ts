// `smgate plugin install|uninstall` end to end through the CLI: keys come from a real keystore (env master key),
// the token is written to a 0600 file, the app reads plaintext with that token, uninstall restores the table.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerPluginCommands } from "../../cli/plugin.js";
import { initKeyStore } from "../../keystore/open.js";
import { patientsPolicy, SEED_ROWS } from "./install-policy.js";
import { createMariadbDatabase } from "./mariadb-helpers.js";
import {
  createPgDatabase,
  MARIADB_ADMIN,
  PG_ADMIN,
  prepareMariadbPlugin,
  preparePostgresPlugin,
} from "./plugin-setup.js";

const skipPg = await preparePostgresPlugin();
const skipMaria = await prepareMariadbPlugin();
const ENV = `SMGP_MASTER_${randomBytes(3).toString("hex")}`;

async function run(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerPluginCommands(program);
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => {
    chunks.push(String(s));
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["node", "smgate", ...args]);
  } finally {
    process.stdout.write = write;
  }
  return chunks.join("");
}

async function makeConfig(dir: string, schema: string): Promise<string> {
  writeFileSync(join(dir, "policy.yaml"), patientsPolicy(schema, "postgres"));
  writeFileSync(
    join(dir, "smgate.yaml"),
    `pg: { listen: 127.0.0.1:6432, backend: 127.0.0.1:5432 }\nkeystore: { provider: env, path: ./keystore.json, master_key_env: ${ENV} }\npolicy: ./policy.yaml\n`,
  );
  const ks = await initKeyStore({ provider: "env", path: join(dir, "keystore.json"), master_key_env: ENV });
  ks.createKey("patients");
  ks.createKey("orders");
  ks.save();
  ks.close();
  return join(dir, "smgate.yaml");
}

describe("smgate plugin CLI", () => {
  let dir: string;
  beforeAll(() => {
    process.env[ENV] = randomBytes(16).toString("hex");
    dir = mkdtempSync(join(tmpdir(), "smg-plugins-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    delete process.env[ENV];
  });

  it.skipIf(skipPg !== undefined)(
    "PostgreSQL: install from a keystore, read with the token file, uninstall",
    async () => {
      const db = await createPgDatabase();
      const sub = mkdtempSync(join(dir, "pg-"));
      try {
        const cfg = await makeConfig(sub, "public");
        const url = `postgres://postgres@127.0.0.1:5432/${db.name}`;
        const admin = new pg.Client({ ...PG_ADMIN, database: db.name });
        await admin.connect();
        await admin.query(
          "CREATE TABLE patients (id serial PRIMARY KEY, name text NOT NULL, id_card text, phone text, diagnosis text, balance numeric(10,2))",
        );
        for (const r of SEED_ROWS)
          await admin.query(
            "INSERT INTO patients (name, id_card, phone, diagnosis, balance) VALUES ($1, $2, $3, $4, $5)",
            r,
          );
        await admin.end();
        const tokenFile = join(sub, "token");
        const out = await run("plugin", "install", "--db", url, "-c", cfg, "--token-file", tokenFile);
        expect(out).toContain("installed public.patients");
        expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
        const token = readFileSync(tokenFile, "utf8").trim();
        expect(out).not.toContain(token);
        const app = new pg.Client({ ...PG_ADMIN, database: db.name, options: `-c smgate.token=${token}` });
        await app.connect();
        const { rows } = await app.query("SELECT name, id_card, phone, diagnosis, balance FROM patients ORDER BY id");
        expect(rows.map((r) => Object.values(r))).toEqual(SEED_ROWS);
        const stored = await app.query("SELECT name FROM patients_enc ORDER BY id LIMIT 1");
        expect(stored.rows[0].name.startsWith("smg1:")).toBe(true);
        await app.end();
        expect(await run("plugin", "uninstall", "--db", url, "--token-file", tokenFile)).toContain(
          "uninstalled public.patients",
        );
        const back = new pg.Client({ ...PG_ADMIN, database: db.name });
        await back.connect();
        expect((await back.query("SELECT name FROM patients ORDER BY id")).rows.map((r) => r.name)).toEqual(
          SEED_ROWS.map((r) => r[0]),
        );
        await back.end();
      } finally {
        await db.drop();
      }
    },
  );

  it.skipIf(skipMaria !== undefined)("MariaDB: install from a keystore, read with the token, uninstall", async () => {
    const db = await createMariadbDatabase();
    const sub = mkdtempSync(join(dir, "maria-"));
    try {
      const cfg = await makeConfig(sub, db.name);
      await db.conn.query(
        "CREATE TABLE patients (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, id_card CHAR(18), phone VARCHAR(20), diagnosis TEXT, balance DECIMAL(10,2))",
      );
      let i = 1;
      for (const r of SEED_ROWS) await db.conn.query("INSERT INTO patients VALUES (?, ?, ?, ?, ?, ?)", [i++, ...r]);
      const url = `mysql://root@127.0.0.1:3306/${db.name}`;
      process.env.SMGP_TOKEN = "tok-" + randomBytes(24).toString("base64url");
      const out = await run("plugin", "install", "--db", url, "-c", cfg, "--token-env", "SMGP_TOKEN");
      expect(out).toContain(`installed ${db.name}.patients`);
      const app = await mysql.createConnection({ ...MARIADB_ADMIN, database: db.name, charset: "utf8mb4" });
      await app.query("SET @smgate_token = ?", [process.env.SMGP_TOKEN]);
      const [rows] = await app.query("SELECT name, id_card, phone, diagnosis, balance FROM patients ORDER BY id");
      expect((rows as Record<string, unknown>[]).map((r) => Object.values(r))).toEqual(SEED_ROWS);
      await app.end();
      expect(await run("plugin", "uninstall", "--db", url, "--token-env", "SMGP_TOKEN")).toContain(
        `uninstalled ${db.name}.patients`,
      );
      const [back] = await db.conn.query("SELECT name FROM patients ORDER BY id");
      expect((back as { name: string }[]).map((r) => r.name)).toEqual(SEED_ROWS.map((r) => r[0]));
    } finally {
      delete process.env.SMGP_TOKEN;
      await db.drop();
    }
  });
});
