// Gateway ↔ plugin on PostgreSQL: rows written through the smgate gateway (TypeScript crypto, gateway stored
// forms: smg1: text envelopes, base64url companion columns, MACs over NULL) are read in plaintext through the
// plugin's view (installed with --data encrypted, same keystore); rows written through the plugin's view are
// read in plaintext, with verified MACs, through the gateway after uninstall --keep-encrypted.
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initKeyStore } from "../../keystore/open.js";
import { exportPluginBundle, newSessionToken } from "../../plugins/installer/bundle.js";
import { pluginKeysFromKeyStore } from "../../plugins/installer/keystore-export.js";
import { installPostgres, uninstallPostgres } from "../../plugins/installer/pg-install.js";
import { buildInstallPlan } from "../../plugins/installer/plan.js";
import { compilePolicyText, PolicyHolder } from "../../policy/holder.js";
import { parsePolicy } from "../../policy/policy-loader.js";
import { GatewayMetrics } from "../../proxy/metrics.js";
import { createPgEncryption, pgCatalogQuery } from "../../proxy/pg/encrypt/index.js";
import { startGateway } from "../../proxy/server.js";
import { createPgDatabase, PG_ADMIN, preparePostgresPlugin } from "./plugin-setup.js";

const skip = await preparePostgresPlugin();

const SCHEMA = `CREATE TABLE patients (id integer PRIMARY KEY, id_card varchar(18), phone text, diagnosis text,
  name text, name_bidx text, balance numeric, balance_mac text, birth text)`;
const POLICY = `version: 1
tables:
  public.patients:
    row_key: [id]
    columns:
      id_card:   { protect: fpe, format: cn-id, key: patients }
      phone:     { protect: encrypt, mode: deterministic, key: patients }
      diagnosis: { protect: encrypt, key: patients }
      name:      { protect: encrypt, blind_index: true, key: patients }
      balance:   { protect: mac, type: numeric, key: patients }
      birth:     { protect: encrypt, mode: deterministic, type: date, key: patients }
access:
  - name: his
    match: { users: [postgres], apps: [his] }
    plaintext: [public.patients.*]
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;
const ROWS = [
  [1, "11010519491231002X", "13800138000", "flu", "张三", "12.50", "1949-12-31"],
  [2, "440524188001010014", "13912345678", null, "Alice", null, "1880-01-01"],
];

describe.skipIf(skip !== undefined)("gateway ↔ plugin interoperability (PostgreSQL)", () => {
  let db: Awaited<ReturnType<typeof createPgDatabase>>;
  let stopGateway: () => Promise<void>;
  let port = 0;
  let bundle = "";
  const token = newSessionToken();
  const ENV = `SMGP_GW_${randomBytes(3).toString("hex")}`;

  beforeAll(async () => {
    db = await createPgDatabase();
    const admin = new pg.Client({ ...PG_ADMIN, database: db.name });
    await admin.connect();
    await admin.query(SCHEMA);
    await admin.end();
    const env = { [ENV]: randomBytes(16).toString("hex") };
    const dir = (await import("node:fs")).mkdtempSync(`${(await import("node:os")).tmpdir()}/smg-plugins-gw-`);
    const keystore = await initKeyStore({ provider: "env", path: `${dir}/ks.json`, master_key_env: ENV }, { env });
    keystore.createKey("patients");
    const compiled = compilePolicyText(POLICY, "policy.yaml");
    if (!compiled.ok) throw new Error("policy invalid");
    const silent = pino({ level: "silent" }, new Writable({ write: (_c, _e, cb) => cb() }));
    const enc = await createPgEncryption({
      policy: new PolicyHolder(compiled.policy),
      keyRing: keystore.keyRing(),
      catalogQuery: pgCatalogQuery({ host: "127.0.0.1", port: 5432, user: "postgres" }),
      preload: [db.name],
      metrics: new GatewayMetrics({ defaultMetrics: false }),
      logger: silent,
    });
    const gw = await startGateway(
      {
        pg: { listen: "127.0.0.1:0", backend: "127.0.0.1:5432" },
        limits: { max_connections: 50, max_message_bytes: 16 * 1024 * 1024 },
      },
      { logger: silent, pgHooks: enc.hooks },
    );
    port = gw.pg!.address().port;
    const plan = buildInstallPlan(parsePolicy(POLICY, "policy.yaml"));
    const keys = pluginKeysFromKeyStore(keystore, plan.keyNames);
    bundle = exportPluginBundle(keys, token);
    stopGateway = async () => {
      await gw.shutdown(2000);
      enc.close();
      keystore.close();
    };
  });
  afterAll(async () => {
    await stopGateway?.();
    await db?.drop();
  });

  const viaGateway = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: db.name, application_name: "his" });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };

  it("rows written through the gateway read as plaintext through the plugin view", async () => {
    await viaGateway(async (c) => {
      for (const r of ROWS) {
        await c.query(
          "INSERT INTO patients (id, id_card, phone, diagnosis, name, balance, birth) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          r,
        );
      }
    });
    const direct = new pg.Client({ ...PG_ADMIN, database: db.name });
    await direct.connect();
    try {
      const stored = await direct.query("SELECT name, name_bidx, balance_mac FROM patients ORDER BY id");
      expect(stored.rows[0].name.startsWith("smg1:")).toBe(true);
      expect(stored.rows[0].name_bidx).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const report = await installPostgres(
        direct,
        buildInstallPlan(parsePolicy(POLICY, "policy.yaml")),
        bundle,
        token,
        { data: "encrypted" },
      );
      expect(report.installed).toEqual(["public.patients"]);
      await direct.query("SELECT smgate.smgate_load_keys($1)", [token]);
      const { rows } = await direct.query(
        "SELECT id, id_card, phone, diagnosis, name, balance::text AS balance, birth::text AS birth FROM patients ORDER BY id",
      );
      expect(rows.map((r) => Object.values(r))).toEqual(ROWS);
      // plugin writes through the view, in the gateway's stored forms
      await direct.query(
        "INSERT INTO patients (id, id_card, phone, diagnosis, name, balance, birth) VALUES (3, '110105198001011238', '15000000000', 'x-ray', 'Bob', 7.25, '1980-01-01')",
      );
      const back = await direct.query("SELECT name_bidx, balance_mac FROM patients_enc WHERE id = 3");
      expect(back.rows[0].name_bidx).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(back.rows[0].balance_mac).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(await uninstallPostgres(direct, undefined, { keepEncrypted: true })).toEqual(["public.patients"]);
    } finally {
      await direct.end();
    }
  });

  it("rows written through the plugin read as plaintext (MACs verified) through the gateway", async () => {
    const rows = await viaGateway(
      async (c) =>
        (await c.query("SELECT id, id_card, phone, diagnosis, name, balance, birth FROM patients ORDER BY id")).rows,
    );
    const show = (v: unknown): string | null =>
      v === null ? null : v instanceof Date ? v.toISOString().slice(0, 10) : String(v);
    expect(rows.map((r) => Object.values(r).map(show))).toEqual([
      ...ROWS.map((r) => r.map((v) => (v === null ? null : String(v)))),
      ["3", "110105198001011238", "15000000000", "x-ray", "Bob", "7.25", "1980-01-01"],
    ]);
    // equality on the DET column and on the blind index work for plugin-written rows
    const found = await viaGateway(
      async (c) =>
        (await c.query("SELECT id FROM patients WHERE name = 'Bob' OR phone = '13912345678' ORDER BY id")).rows,
    );
    expect(found).toEqual([{ id: 2 }, { id: 3 }]);
    // the gateway does verify MACs: the same read fails once the plugin-written value is changed behind its back
    const direct = new pg.Client({ ...PG_ADMIN, database: db.name });
    await direct.connect();
    await direct.query("UPDATE patients SET balance = 99 WHERE id = 3");
    await direct.end();
    await expect(viaGateway((c) => c.query("SELECT balance FROM patients WHERE id = 3"))).rejects.toMatchObject({
      code: "XX001",
    });
  });
});
