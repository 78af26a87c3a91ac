// `smgate plugin install/uninstall` on MariaDB: reads through the original name return plaintext for sessions
// holding the token (types preserved), the renamed base table stores ciphertext identical to the TypeScript
// crypto core's, writes to the base table are encrypted by triggers, the view refuses writes to protected
// columns, tampering is detected, and uninstall restores the plaintext table.
import mysql, { type Connection } from "mysql2/promise";
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
import { installMariadb, uninstallMariadb } from "../../plugins/installer/mariadb-install.js";
import { buildInstallPlan } from "../../plugins/installer/plan.js";
import { parsePolicy } from "../../policy/policy-loader.js";
import { patientsPolicy, SEED_ROWS } from "./install-policy.js";
import { createMariadbDatabase } from "./mariadb-helpers.js";
import { MARIADB_ADMIN, makeTestKeys, prepareMariadbPlugin } from "./plugin-setup.js";

const skip = await prepareMariadbPlugin();

interface StoredRow {
  id: number;
  name: string;
  name_bidx: Buffer;
  id_card: string;
  phone: string;
  diagnosis: string;
  balance: string;
  balance_mac: Buffer;
}

describe.skipIf(skip !== undefined)("smgate plugin install on MariaDB", () => {
  let db: Awaited<ReturnType<typeof createMariadbDatabase>>;
  let admin: Connection;
  const keys = makeTestKeys();
  const token = newSessionToken();
  const ad = (c: string): Buffer => Buffer.from(`${db.name}.patients.${c}`);

  const session = async (withToken: boolean): Promise<Connection> => {
    const c = await mysql.createConnection({ ...MARIADB_ADMIN, database: db.name, charset: "utf8mb4" });
    if (withToken) await c.query("SET @smgate_token = ?", [token]);
    return c;
  };

  beforeAll(async () => {
    db = await createMariadbDatabase();
    admin = db.conn;
    await admin.query(`CREATE TABLE patients (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, id_card CHAR(18),
      phone VARCHAR(20), diagnosis TEXT, balance DECIMAL(10,2), visited DATE DEFAULT '2024-01-02') CHARACTER SET utf8mb4`);
    for (const r of SEED_ROWS)
      await admin.query("INSERT INTO patients (name, id_card, phone, diagnosis, balance) VALUES (?, ?, ?, ?, ?)", r);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("installs: sessions with the token read plaintext through the original name; writes to the base are encrypted", async () => {
    const plan = buildInstallPlan(parsePolicy(patientsPolicy(db.name, "app"), "policy.yaml"));
    const report = await installMariadb(admin, plan, exportPluginBundle(keys.entries, token), token);
    expect(report.installed).toEqual([`${db.name}.patients`]);
    const app = await session(true);
    try {
      const [rows] = await app.query(
        "SELECT id, name, id_card, phone, diagnosis, balance, visited FROM patients ORDER BY id",
      );
      const r = rows as Record<string, unknown>[];
      expect(r.map((x) => [x.name, x.id_card, x.phone, x.diagnosis, x.balance])).toEqual(SEED_ROWS);
      expect(r[0].visited).toBeInstanceOf(Date);
      await app.query(
        "INSERT INTO patients_enc (id, name, id_card, phone, diagnosis, balance) VALUES (4, 'Carol', '440524188001010014', '13700000000', 'x-ray', 7.5)",
      );
      await app.query("UPDATE patients_enc SET diagnosis = 'healed', balance = 8 WHERE id = 4");
      await app.query("UPDATE patients SET visited = '2025-05-05' WHERE id = 4"); // plain column through the view
      await app.query("DELETE FROM patients WHERE id = 3");
      const [after] = await app.query("SELECT id, name, diagnosis, balance, visited FROM patients ORDER BY id");
      expect((after as Record<string, unknown>[]).map((x) => [x.id, x.name, x.diagnosis, x.balance])).toEqual([
        [1, SEED_ROWS[0][0], SEED_ROWS[0][3], "12.50"],
        [2, SEED_ROWS[1][0], SEED_ROWS[1][3], "0.00"],
        [4, "Carol", "healed", "8.00"],
      ]);
      const [byPhone] = await app.query("SELECT id FROM patients WHERE phone = '13912345678'");
      expect(byPhone).toEqual([{ id: 2 }]);
      // protected columns are not writable through the view: an error, never a plaintext write
      await expect(app.query("UPDATE patients SET name = 'x' WHERE id = 1")).rejects.toThrow(/not updatable/);
      // an AUTO_INCREMENT row key must be given explicitly (MAC needs it before the insert)
      await expect(app.query("INSERT INTO patients_enc (name, balance) VALUES ('Dan', 1)")).rejects.toThrow(
        /integrity row key/,
      );
    } finally {
      await app.end();
    }
  });

  it("stored values are exactly what the TypeScript crypto core produces", async () => {
    const [rows] = await admin.query(
      "SELECT id, name, name_bidx, id_card, phone, diagnosis, balance, balance_mac FROM patients_enc ORDER BY id",
    );
    for (const r of rows as StoredRow[]) {
      const src = r.id === 4 ? ["Carol", "440524188001010014", "13700000000", "healed"] : SEED_ROWS[r.id - 1];
      expect(decryptEnvelopes((id) => keys.byId.get(id)!, ad("name"), [envelopeFromText(r.name)])[0].toString()).toBe(
        src[0],
      );
      expect(
        decryptEnvelopes((id) => keys.byId.get(id)!, ad("diagnosis"), [envelopeFromText(r.diagnosis)])[0].toString(),
      ).toBe(src[3]);
      expect(r.phone).toBe(envelopeToText(encryptDet(keys.active("orders"), ad("phone"), [Buffer.from(src[2])])[0]));
      expect(r.id_card).toBe(fpeEncrypt(keys.active("patients"), ad("id_card"), "cn-id", [src[1]])[0]);
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

  it("sessions without the token see ciphertext and cannot write protected columns", async () => {
    const s = await session(false);
    try {
      const [rows] = await s.query("SELECT name, balance FROM patients ORDER BY id");
      expect((rows as { name: string }[]).every((r) => r.name.startsWith("smg1:"))).toBe(true);
      await expect(s.query("INSERT INTO patients_enc (id, name) VALUES (9, 'plain')")).rejects.toThrow(
        /no session token/,
      );
      const [n] = await s.query("SELECT count(*) AS n FROM patients_enc WHERE id = 9");
      expect((n as { n: number }[])[0].n).toBe(0);
    } finally {
      await s.end();
    }
  });

  it("a value changed behind smgate's back fails its integrity MAC", async () => {
    await admin.query("SET @smgate_token = NULL");
    await admin.query("DROP TRIGGER patients_enc_smgate_bu"); // simulate a write that bypasses smgate
    await admin.query("UPDATE patients_enc SET balance = 999 WHERE id = 2");
    const app = await session(true);
    try {
      await expect(app.query("SELECT balance FROM patients WHERE id = 2")).rejects.toThrow(
        /integrity check failed on .*patients\.balance/,
      );
    } finally {
      await app.end();
    }
    await admin.query("UPDATE patients_enc SET balance = 0 WHERE id = 2");
  });

  it("uninstall restores the original table with plaintext values and types", async () => {
    await expect(uninstallMariadb(admin, db.name, newSessionToken())).rejects.toThrow(/does not open with this token/);
    expect(await uninstallMariadb(admin, db.name, token)).toEqual([`${db.name}.patients`]);
    const [rows] = await admin.query("SELECT id, name, id_card, phone, diagnosis, balance FROM patients ORDER BY id");
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
    const [cols] = await admin.query(
      "SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'patients' ORDER BY ORDINAL_POSITION",
      [db.name],
    );
    expect(cols).toEqual([
      { c: "id", t: "int(11)" },
      { c: "name", t: "varchar(40)" },
      { c: "id_card", t: "char(18)" },
      { c: "phone", t: "varchar(20)" },
      { c: "diagnosis", t: "text" },
      { c: "balance", t: "decimal(10,2)" },
      { c: "visited", t: "date" },
    ]);
  });
});
