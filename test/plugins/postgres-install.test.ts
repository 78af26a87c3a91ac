// `smgate plugin install/uninstall` on PostgreSQL: an unchanged application reading and writing the original
// table name sees plaintext while the stored rows (read directly from the renamed base table) are ciphertext
// byte-compatible with the TypeScript crypto core; other roles see ciphertext; tampering is detected; uninstall
// restores the original table with plaintext values.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fpeEncrypt } from "../../crypto/fpe/index.js";
import {
  blindIndex,
  decryptEnvelopes,
  encodeRowKey,
  encryptDet,
  envelopeFromText,
  envelopeToText,
  integrityMac,
} from "../../crypto/index.js";
import { exportPluginBundle, newSessionToken } from "../../plugins/installer/bundle.js";
import { installPostgres, uninstallPostgres } from "../../plugins/installer/pg-install.js";
import { buildInstallPlan } from "../../plugins/installer/plan.js";
import { parsePolicy } from "../../policy/policy-loader.js";
import { patientsPolicy, SEED_ROWS } from "./install-policy.js";
import { createPgDatabase, makeTestKeys, PG_ADMIN, preparePostgresPlugin, uniqueName } from "./plugin-setup.js";

const skip = await preparePostgresPlugin();
const ad = (c: string): Buffer => Buffer.from(`public.patients.${c}`);

describe.skipIf(skip !== undefined)("smgate plugin install on PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof createPgDatabase>>;
  let admin: pg.Client;
  const keys = makeTestKeys();
  const token = newSessionToken();
  const appRole = uniqueName("smg_plugins_app");
  const otherRole = uniqueName("smg_plugins_other");
  const plan = () => buildInstallPlan(parsePolicy(patientsPolicy("public", appRole), "policy.yaml"));

  const connect = async (user: string, withToken = false): Promise<pg.Client> => {
    const c = new pg.Client({
      ...PG_ADMIN,
      database: db.name,
      user,
      ...(withToken ? { options: `-c smgate.token=${token}` } : {}),
    });
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    db = await createPgDatabase();
    admin = await connect("postgres");
    await admin.query(`CREATE ROLE ${appRole} LOGIN; CREATE ROLE ${otherRole} LOGIN`);
    await admin.query(`CREATE TABLE patients (id serial PRIMARY KEY, name varchar(40) NOT NULL, id_card char(18),
      phone text, diagnosis text, balance numeric(10,2), visited date DEFAULT '2024-01-02')`);
    for (const r of SEED_ROWS)
      await admin.query(
        "INSERT INTO patients (name, id_card, phone, diagnosis, balance) VALUES ($1, $2, $3, $4, $5)",
        r,
      );
    await admin.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON patients TO ${appRole}; GRANT USAGE ON SEQUENCE patients_id_seq TO ${appRole}`,
    );
    await admin.query(`GRANT SELECT ON patients TO ${otherRole}`);
  });

  afterAll(async () => {
    await admin?.end();
    await db?.drop();
    const a = new pg.Client(PG_ADMIN);
    await a.connect();
    await a.query(`DROP ROLE IF EXISTS ${appRole}; DROP ROLE IF EXISTS ${otherRole}`);
    await a.end();
  });

  it("installs: the app reads and writes plaintext through the original name, the base table holds ciphertext", async () => {
    const report = await installPostgres(admin, plan(), exportPluginBundle(keys.entries, token), token);
    expect(report.installed).toEqual(["public.patients"]);
    expect((await admin.query("SELECT relkind FROM pg_class WHERE relname = 'patients'")).rows[0].relkind).toBe("v");

    const app = await connect(appRole, true);
    try {
      const { rows } = await app.query(
        "SELECT id, name, id_card, phone, diagnosis, balance, visited FROM patients ORDER BY id",
      );
      expect(rows.map((r) => [r.name, r.id_card, r.phone, r.diagnosis, r.balance])).toEqual(SEED_ROWS);
      expect(rows[0].visited).toBeInstanceOf(Date);
      // writes through the view
      const ins = await app.query(
        "INSERT INTO patients (name, id_card, phone, diagnosis, balance) VALUES ('Carol', '440524188001010014', '13700000000', 'x-ray', 7.5) RETURNING id, name, balance",
      );
      expect(ins.rows[0]).toMatchObject({ id: 4, name: "Carol", balance: "7.5" });
      const upd = await app.query("UPDATE patients SET diagnosis = 'healed', balance = 8 WHERE id = 4");
      expect(upd.rowCount).toBe(1);
      expect((await app.query("DELETE FROM patients WHERE id = 3")).rowCount).toBe(1);
      const after = await app.query("SELECT id, name, diagnosis, balance FROM patients ORDER BY id");
      expect(after.rows).toEqual([
        { id: 1, name: SEED_ROWS[0][0], diagnosis: SEED_ROWS[0][3], balance: "12.50" },
        { id: 2, name: SEED_ROWS[1][0], diagnosis: SEED_ROWS[1][3], balance: "0.00" },
        { id: 4, name: "Carol", diagnosis: "healed", balance: "8.00" },
      ]);
      // equality search on a DET column and on the plaintext view
      expect((await app.query("SELECT id FROM patients WHERE phone = '13912345678'")).rows).toEqual([{ id: 2 }]);
    } finally {
      await app.end();
    }
  });

  it("stored values are exactly what the TypeScript crypto core produces for the same keys", async () => {
    const { rows } = await admin.query(
      "SELECT id, name, name_bidx, id_card, phone, diagnosis, balance, balance_mac FROM patients_enc ORDER BY id",
    );
    const resolve = (id: number) => keys.byId.get(id)!;
    for (const r of rows) {
      expect(r.name.startsWith("smg1:")).toBe(true);
      const src = r.id === 4 ? ["Carol", "440524188001010014", "13700000000", "healed"] : SEED_ROWS[r.id - 1];
      expect(decryptEnvelopes(resolve, ad("name"), [envelopeFromText(r.name)])[0].toString()).toBe(src[0]);
      expect(decryptEnvelopes(resolve, ad("diagnosis"), [envelopeFromText(r.diagnosis)])[0].toString()).toBe(src[3]);
      expect(r.phone).toBe(envelopeToText(encryptDet(keys.active("orders"), ad("phone"), [Buffer.from(src[2])])[0]));
      expect(r.id_card).toBe(fpeEncrypt(keys.active("patients"), ad("id_card"), "cn-id", [src[1]])[0]);
      expect(r.id_card).not.toBe(src[1]);
      expect(r.name_bidx).toEqual(blindIndex(keys.active("patients"), [Buffer.from(src[0])])[0]);
      expect(r.balance_mac).toEqual(
        integrityMac(
          keys.active("orders"),
          ad("balance"),
          encodeRowKey([Buffer.from(String(r.id))]),
          Buffer.from(r.balance),
        ),
      );
    }
  });

  it("a role outside the gate sees ciphertext through the view; a session without the token cannot decrypt", async () => {
    const other = await connect(otherRole, true);
    try {
      const { rows } = await other.query("SELECT name, phone FROM patients ORDER BY id");
      expect(rows.every((r) => r.name.startsWith("smg1:") && r.phone.startsWith("smg1:"))).toBe(true);
      await expect(
        other.query("SELECT smgate.smgate_decrypt(name, 'public.patients.name') FROM patients"),
      ).rejects.toMatchObject({ code: "42501" });
    } finally {
      await other.end();
    }
    const app = await connect(appRole, false);
    try {
      const { rows } = await app.query("SELECT name FROM patients ORDER BY id LIMIT 1");
      expect(rows[0].name.startsWith("smg1:")).toBe(true);
      await expect(app.query("INSERT INTO patients (name) VALUES ('no-keys')")).rejects.toThrow(/keys are not loaded/);
    } finally {
      await app.end();
    }
  });

  it("a value changed behind smgate's back fails its integrity MAC", async () => {
    await admin.query("UPDATE patients_enc SET balance = 999 WHERE id = 2");
    const app = await connect(appRole, true);
    try {
      await expect(app.query("SELECT balance FROM patients WHERE id = 2")).rejects.toMatchObject({
        code: "XX001",
        message: expect.stringContaining("integrity check failed on public.patients.balance"),
      });
      expect((await app.query("SELECT balance FROM patients WHERE id = 1")).rows[0].balance).toBe("12.50");
    } finally {
      await app.end();
    }
    await admin.query("UPDATE patients_enc SET balance = 0 WHERE id = 2");
  });

  it("key rotation: re-running install with a rotated bundle keeps old rows readable, new rows use the new key", async () => {
    const rotated = keys.entries.map((e) =>
      e.name === "patients" && e.state === "active" ? { ...e, state: "decrypt-only" as const } : e,
    );
    const fresh = { keyId: 0x7e57_0001, name: "patients", state: "active" as const, dek: randomBytes(16) };
    const again = await installPostgres(admin, plan(), exportPluginBundle([...rotated, fresh], token), token);
    expect(again.skipped).toEqual(["public.patients (already installed)"]);
    const app = await connect(appRole, true);
    try {
      expect((await app.query("SELECT name FROM patients WHERE id = 1")).rows[0].name).toBe(SEED_ROWS[0][0]);
      await app.query("INSERT INTO patients (id, name, balance) VALUES (100, 'Rotated', 1)");
      const stored = await admin.query("SELECT name FROM patients_enc WHERE id = 100");
      expect(envelopeFromText(stored.rows[0].name).readUInt32BE(1)).toBe(fresh.keyId);
      expect((await app.query("SELECT name FROM patients WHERE id = 100")).rows[0].name).toBe("Rotated");
      await app.query("DELETE FROM patients WHERE id = 100");
    } finally {
      await app.end();
    }
  });

  it("install is idempotent and uninstall restores the plaintext table", async () => {
    const again = await installPostgres(admin, plan(), exportPluginBundle(keys.entries, token), token);
    expect(again.skipped).toEqual(["public.patients (already installed)"]);
    await expect(uninstallPostgres(admin, newSessionToken())).rejects.toThrow(/does not open with this token/);
    expect(await uninstallPostgres(admin, token)).toEqual(["public.patients"]);
    const { rows } = await admin.query("SELECT id, name, id_card, phone, diagnosis, balance FROM patients ORDER BY id");
    expect(rows).toEqual([
      {
        id: 1,
        name: SEED_ROWS[0][0],
        id_card: SEED_ROWS[0][1],
        phone: SEED_ROWS[0][2],
        diagnosis: SEED_ROWS[0][3],
        balance: "12.50",
      },
      {
        id: 2,
        name: SEED_ROWS[1][0],
        id_card: SEED_ROWS[1][1],
        phone: SEED_ROWS[1][2],
        diagnosis: SEED_ROWS[1][3],
        balance: "0.00",
      },
      {
        id: 4,
        name: "Carol",
        id_card: "440524188001010014",
        phone: "13700000000",
        diagnosis: "healed",
        balance: "8.00",
      },
    ]);
    const cols = await admin.query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'patients' ORDER BY ordinal_position",
    );
    expect(cols.rows.map((c) => c.column_name)).toEqual([
      "id",
      "name",
      "id_card",
      "phone",
      "diagnosis",
      "balance",
      "visited",
    ]);
    expect(cols.rows[1].data_type).toBe("character varying");
    expect((await admin.query("SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'smgate'")).rows[0].n).toBe(
      0,
    );
  });
});
