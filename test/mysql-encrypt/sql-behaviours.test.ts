// MySQL field encryption end to end against the real MariaDB through smgate's gateway, with mysql2 in text
// (query) and binary (execute) protocol: what is stored, every SQL behaviour class on DET / FPE / blind-index
// columns, plaintext types shown to the client, refusals (1235 naming the column), denials (1142 / 1143),
// masks and ciphertext per subject, integrity MAC failures counted, fail closed, and no plaintext in logs.
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EncryptedMysqlGateway, startEncryptedMysql } from "./encrypt-fixture.js";
import { ANALYST, IDS, PATIENTS_POLICY, PATIENTS_SQL } from "./patients-schema.js";

type Rows = mysql.RowDataPacket[];

const DATE = 0x0a;
const NEWDECIMAL = 0xf6;
const PHOTO = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x10]);
const COLS = "id, id_card, phone, diagnosis, name, balance, birth, photo, note";

let g: EncryptedMysqlGateway;
let his: mysql.Connection;

beforeAll(async () => {
  g = await startEncryptedMysql({
    tag: "sql",
    schemaSql: PATIENTS_SQL,
    policyYaml: PATIENTS_POLICY,
    keys: ["patients", "phones"],
    users: [ANALYST],
  });
  his = await g.client({ app: "his", extra: { dateStrings: true } });
  await his.query(
    `INSERT INTO patients (id, id_card, phone, diagnosis, name, balance, birth, photo, note) VALUES
      (1, '${IDS[0]}', '13800138000', 'flu', 'Alice', 12.30, '1990-03-07', NULL, 'n1'),
      (2, '${IDS[1]}', '13900139000', 'asthma', 'Bob', 0.50, '1949-12-31', NULL, 'n2'),
      (3, '${IDS[2]}', NULL, NULL, 'Alice', NULL, NULL, NULL, 'n3')`,
  );
  await his.execute(`INSERT INTO patients (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    4,
    IDS[0],
    "13800138000",
    "糖尿病 diabetes",
    "Carol",
    "99.99",
    "2001-01-02",
    PHOTO,
    "n4",
  ]);
  await his.query("INSERT INTO visits (vid, phone, ward) VALUES (10, '13800138000', 'A'), (11, '13900139000', 'B')");
  await his.execute("INSERT INTO visits (vid, phone, ward) VALUES (?, ?, ?)", [12, "13800138000", "C"]);
});

afterAll(async () => {
  await his?.end();
  await g?.stop();
});

describe("what is stored", () => {
  it("stores FPE, DET/RND envelopes, raw blob envelopes and 16-byte companions; MAC columns stay plaintext", async () => {
    const d = await g.direct();
    const [rows] = await d.query<Rows>(
      "SELECT id, id_card, phone, diagnosis, name, name_bidx, balance, balance_mac, birth, photo FROM patients ORDER BY id",
    );
    await d.end();
    const r1 = rows[0];
    expect(r1.id_card).toMatch(/^110101\d{11}[\dX]$/);
    expect(r1.id_card).not.toBe(IDS[0]);
    for (const c of ["phone", "diagnosis", "name", "birth"]) expect(String(r1[c])).toMatch(/^smg1:[A-Za-z0-9_-]+$/);
    expect(r1.name_bidx).toHaveLength(16);
    expect(r1.balance).toBe("12.30");
    expect(r1.balance_mac).toHaveLength(16);
    const r4 = rows[3];
    expect(Buffer.isBuffer(r4.photo)).toBe(true);
    expect(r4.photo[0]).toBe(0x01); // RND envelope, raw in a blob
    expect(r4.photo.includes(PHOTO)).toBe(false);
    // DET: equal plaintexts → equal stored values, in both protocols and across tables sharing the key
    expect(rows[3].phone).toBe(r1.phone);
    expect(rows[3].id_card).toBe(r1.id_card);
    // RND: equal plaintexts → different envelopes, same blind index
    expect(rows[2].name).not.toBe(r1.name);
    expect(Buffer.compare(rows[2].name_bidx, r1.name_bidx)).toBe(0);
    expect(rows[2].phone).toBeNull();
    const d2 = await g.direct();
    const [v] = await d2.query<Rows>("SELECT phone FROM visits WHERE vid IN (10, 12) ORDER BY vid");
    await d2.end();
    expect(v[0].phone).toBe(v[1].phone); // DET per column: literal and parameter give the same envelope
    expect(v[0].phone).not.toBe(r1.phone); // bound to its column (associated data)
  });
});

describe("reads through smgate", () => {
  it("decrypts text and binary resultsets and shows plaintext types", async () => {
    const sql = `SELECT ${COLS} FROM patients WHERE id IN (1, 4) ORDER BY id`;
    const [text, fields] = await his.query<Rows>(sql);
    const [bin, bfields] = await his.execute<Rows>(`SELECT ${COLS} FROM patients WHERE id > ? ORDER BY id`, [0]);
    for (const rows of [text, bin.filter((r) => r.id === 1 || r.id === 4)]) {
      expect(rows[0]).toMatchObject({
        id: 1,
        id_card: IDS[0],
        phone: "13800138000",
        diagnosis: "flu",
        name: "Alice",
        balance: "12.30",
        birth: "1990-03-07",
        note: "n1",
      });
      expect(rows[0].photo).toBeNull();
      expect(Buffer.compare(rows[1].photo, PHOTO)).toBe(0);
      expect(rows[1]).toMatchObject({ id: 4, diagnosis: "糖尿病 diabetes", name: "Carol", birth: "2001-01-02" });
    }
    for (const f of [fields, bfields]) {
      const byName = new Map(f.map((x) => [x.name, x]));
      expect(byName.get("birth")?.columnType).toBe(DATE);
      expect(byName.get("balance")?.columnType).toBe(NEWDECIMAL);
      expect([...byName.keys()]).not.toContain("balance_mac");
    }
  });

  it("= / IN / IS NULL on DET, FPE and blind-index columns, literals and parameters", async () => {
    const ids = (rows: Rows) => rows.map((r) => r.id).sort();
    const q = async (sql: string, params?: (string | number | null)[]) =>
      ids(params ? (await his.execute<Rows>(sql, params))[0] : (await his.query<Rows>(sql))[0]);
    expect(await q("SELECT id FROM patients WHERE phone = '13800138000'")).toEqual([1, 4]);
    expect(await q("SELECT id FROM patients WHERE phone = ?", ["13800138000"])).toEqual([1, 4]);
    expect(await q("SELECT id FROM patients WHERE phone IN ('13900139000', '0')")).toEqual([2]);
    expect(await q("SELECT id FROM patients WHERE phone IN (?, ?)", ["13900139000", "13800138000"])).toEqual([1, 2, 4]);
    expect(await q("SELECT id FROM patients WHERE phone IS NULL")).toEqual([3]);
    expect(await q("SELECT id FROM patients WHERE birth = '1949-12-31'")).toEqual([2]);
    expect(await q(`SELECT id FROM patients WHERE id_card = '${IDS[2]}'`)).toEqual([3]);
    expect(await q("SELECT id FROM patients WHERE id_card = ?", [IDS[0]])).toEqual([1, 4]);
    expect(await q("SELECT id FROM patients WHERE name = 'Alice'")).toEqual([1, 3]);
    expect(await q("SELECT id FROM patients WHERE name = ?", ["Carol"])).toEqual([4]);
    expect(await q("SELECT id FROM patients WHERE name IS NOT NULL AND phone <> '13800138000'")).toEqual([2]);
  });

  it("joins on equal DET values of the same column, and groups by a DET column", async () => {
    const [j] = await his.query<Rows>(
      "SELECT a.id AS a, b.id AS b, b.phone FROM patients a JOIN patients b ON a.phone = b.phone WHERE a.id = 1 ORDER BY b.id",
    );
    expect(j.map((r) => [r.a, r.b, r.phone])).toEqual([
      [1, 1, "13800138000"],
      [1, 4, "13800138000"],
    ]);
    const [jv] = await his.query<Rows>(
      "SELECT v.vid, v.ward, p.id FROM visits v JOIN patients p ON p.id = v.vid - 9 WHERE v.phone = '13800138000' ORDER BY v.vid",
    );
    expect(jv.map((r) => [r.vid, r.ward, r.id])).toEqual([
      [10, "A", 1],
      [12, "C", 3],
    ]);
    const [grp] = await his.query<Rows>("SELECT phone, COUNT(*) AS n FROM visits GROUP BY phone");
    const counts = Object.fromEntries(grp.map((r) => [r.phone, Number(r.n)]));
    expect(counts).toEqual({ "13800138000": 2, "13900139000": 1 });
    const [dist] = await his.execute<Rows>("SELECT DISTINCT phone FROM patients WHERE id < ?", [10]);
    expect(dist.map((r) => r.phone).sort()).toEqual([null, "13800138000", "13900139000"].sort());
  });
});

describe("writes through smgate", () => {
  it("update and delete by protected predicates, MAC recomputed on update", async () => {
    await his.query("INSERT INTO patients (id, phone, name, balance, diagnosis) VALUES (20, '111', 'Dan', 1.00, 'x')");
    await his.query("UPDATE patients SET diagnosis = 'cured' WHERE phone = '111'");
    await his.query("UPDATE patients SET balance = 2.5 WHERE id = 20");
    await his.execute("UPDATE patients SET note = ?, birth = ? WHERE name = ?", ["upd", "1980-05-06", "Dan"]);
    const [r] = await his.query<Rows>("SELECT diagnosis, balance, birth, note FROM patients WHERE id = 20");
    expect(r[0]).toEqual({ diagnosis: "cured", balance: "2.50", birth: "1980-05-06", note: "upd" });
    const [del] = await his.execute<mysql.ResultSetHeader>("DELETE FROM patients WHERE name = ?", ["Dan"]);
    expect(del.affectedRows).toBe(1);
    const [gone] = await his.query<Rows>("SELECT id FROM patients WHERE id = 20");
    expect(gone).toEqual([]);
  });

  it("a tampered MAC is refused and counted", async () => {
    await his.query("INSERT INTO patients (id, balance) VALUES (30, 5.00)");
    const d = await g.direct();
    await d.query("UPDATE patients SET balance = 500.00 WHERE id = 30");
    await d.end();
    await expect(his.query("SELECT id, balance FROM patients WHERE id = 30")).rejects.toMatchObject({ errno: 1105 });
    await expect(his.execute("SELECT id, balance FROM patients WHERE id = ?", [30])).rejects.toMatchObject({
      errno: 1105,
    });
    const m = await g.metrics.integrityFailures.get();
    expect(m.values.reduce((a, v) => a + v.value, 0)).toBeGreaterThanOrEqual(2);
    await his.query("DELETE FROM patients WHERE id = 30");
  });
});

describe("refusals and denials", () => {
  it("refuses unsupported uses of encrypted columns with 1235 naming the column; the session goes on", async () => {
    await expect(his.query("SELECT id FROM patients WHERE phone LIKE '138%'")).rejects.toMatchObject({
      errno: 1235,
      message: expect.stringContaining("phone"),
    });
    await expect(his.query("SELECT id FROM patients ORDER BY diagnosis")).rejects.toMatchObject({
      errno: 1235,
      message: expect.stringContaining("diagnosis"),
    });
    await expect(his.execute("SELECT id FROM patients WHERE diagnosis = ?", ["flu"])).rejects.toMatchObject({
      errno: 1235,
      message: expect.stringContaining("diagnosis"),
    });
    const [ok] = await his.query<Rows>("SELECT COUNT(*) AS n FROM patients");
    expect(Number(ok[0].n)).toBeGreaterThan(0);
  });

  it("fails closed on a statement on a protected table it cannot analyse", async () => {
    await expect(his.query("SELECT /*!50000 phone */ FROM patients")).rejects.toMatchObject({ errno: 1235 });
    await expect(his.execute("SELECT /*!50000 phone */ FROM patients WHERE id = ?", [1])).rejects.toMatchObject({
      errno: 1235,
    });
    // statements on unprotected tables pass through untouched
    const [r] = await his.query<Rows>("SELECT COUNT(*) AS n FROM plain_notes");
    expect(Number(r[0].n)).toBe(0);
  });

  it("denies by table (1142) and by column (1143) per subject", async () => {
    const nobody = await g.client();
    await expect(nobody.query("SELECT id FROM patients")).rejects.toMatchObject({ errno: 1142, sqlState: "42000" });
    await expect(nobody.execute("SELECT id FROM patients WHERE id = ?", [1])).rejects.toMatchObject({ errno: 1142 });
    await nobody.end();
    const analyst = await g.client({ user: ANALYST });
    await expect(analyst.query("SELECT diagnosis FROM patients")).rejects.toMatchObject({ errno: 1143 });
    await expect(analyst.query("INSERT INTO patients (id) VALUES (99)")).rejects.toMatchObject({ errno: 1142 });
    await analyst.end();
    expect(g.audit.some((e) => e.type === "denial")).toBe(true);
  });
});

describe("per-subject views", () => {
  it("masks for the analyst, ciphertext for the report app", async () => {
    const analyst = await g.client({ user: ANALYST, extra: { dateStrings: true } });
    const [a] = await analyst.query<Rows>("SELECT id, id_card, phone, name, birth FROM patients WHERE id = 1");
    await analyst.end();
    expect(a[0].name).toBe("Alice");
    expect(a[0].birth).toBe("1990-03-07");
    expect(a[0].id_card).toMatch(/^110\*+4514$/);
    expect(a[0].phone).toMatch(/^138\*+8000$/);
    const report = await g.client({ app: "report" });
    const [r] = await report.query<Rows>("SELECT id, phone, diagnosis FROM patients WHERE id = 1");
    await report.end();
    expect(r[0].phone).toMatch(/^smg1:/);
    expect(r[0].diagnosis).toMatch(/^smg1:/);
  });

  it("never logs plaintext of protected columns", () => {
    const all = g.logs.join("\n");
    for (const secret of ["13800138000", "Alice", "asthma", "糖尿病", IDS[0], "1990-03-07"])
      expect(all.includes(secret)).toBe(false);
  });
});

describe("SELECT *", () => {
  it("decrypts every protected column and leaves the companion columns out, in both protocols", async () => {
    const [text, fields] = await his.query<Rows>("SELECT * FROM patients WHERE id = 1");
    const [bin] = await his.execute<Rows>("SELECT * FROM patients WHERE id = ?", [1]);
    expect(fields.map((f) => f.name)).toEqual(COLS.split(", "));
    const want = {
      id: 1,
      id_card: IDS[0],
      phone: "13800138000",
      diagnosis: "flu",
      name: "Alice",
      balance: "12.30",
      birth: "1990-03-07",
      photo: null,
      note: "n1",
    };
    expect(text[0]).toEqual(want);
    expect(bin[0]).toEqual(want);
  });
});

describe("current database", () => {
  it("follows USE sent as a query: unqualified protected tables are still encrypted", async () => {
    const c = await g.client({ app: "his", extra: { database: undefined } });
    await c.query(`USE \`${g.db}\``);
    await c.query("INSERT INTO patients (id, phone) VALUES (40, '13700000040')");
    const [r] = await c.query<Rows>("SELECT phone FROM patients WHERE id = 40");
    expect(r[0].phone).toBe("13700000040");
    await c.end();
    const d = await g.direct();
    const [s] = await d.query<Rows>("SELECT phone FROM patients WHERE id = 40");
    await d.query("DELETE FROM patients WHERE id = 40");
    await d.end();
    expect(s[0].phone).toMatch(/^smg1:/);
  });
});

describe("upserts", () => {
  it("INSERT … ON DUPLICATE KEY UPDATE encrypts both the inserted and the updated values", async () => {
    const sql =
      "INSERT INTO visits (vid, phone, ward) VALUES (50, '13600000050', 'X') ON DUPLICATE KEY UPDATE phone = '13600000051', ward = 'Y'";
    await his.query(sql);
    await his.query(sql);
    await his.execute("INSERT INTO visits (vid, phone) VALUES (?, ?) ON DUPLICATE KEY UPDATE phone = ?", [
      51,
      "13600000052",
      "x",
    ]);
    const [r] = await his.query<Rows>("SELECT vid, phone, ward FROM visits WHERE vid IN (50, 51) ORDER BY vid");
    expect(r).toEqual([
      { vid: 50, phone: "13600000051", ward: "Y" },
      { vid: 51, phone: "13600000052", ward: null },
    ]);
    const d = await g.direct();
    const [s] = await d.query<Rows>("SELECT phone FROM visits WHERE vid IN (50, 51)");
    await d.query("DELETE FROM visits WHERE vid IN (50, 51)");
    await d.end();
    for (const row of s) expect(row.phone).toMatch(/^smg1:/);
  });
});
