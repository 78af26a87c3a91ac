// Data migrated by `smgate migrate` (runMigration on MariaDB: envelopes in widened columns, FPE in place,
// VARBINARY(16) blind-index and MAC companions) reads back through the MySQL encryption layer exactly as it
// was before migration, answers DET / FPE / blind-index predicates, and rows the gateway writes afterwards
// are in the same stored forms as migrated ones.
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MysqlMigrateDb } from "../../migrate/mysql-db.js";
import { runMigration } from "../../migrate/run.js";
import { type EncryptedMysqlGateway, startEncryptedMysql } from "./encrypt-fixture.js";

type Rows = mysql.RowDataPacket[];

const SCHEMA = `
CREATE TABLE people (
  id INT PRIMARY KEY,
  id_card VARCHAR(18),
  phone VARCHAR(20),
  name VARCHAR(40),
  notes TEXT,
  born DATE,
  amount DECIMAL(10,2),
  score INT,
  avatar VARBINARY(64)
);
INSERT INTO people VALUES
  (1, '110101199003074514', '13800138000', 'Alice', 'first note', '1990-03-07', 10.50, 7, X'00ff10'),
  (2, '11010519491231002X', '13900139000', 'Bob', NULL, '1949-12-31', 0.00, -3, NULL),
  (3, '440524188001010014', '13800138000', 'Alice', '患者记录', NULL, NULL, NULL, X'');
`;

const POLICY = `
version: 1
tables:
  $DB.people:
    row_key: [id]
    columns:
      id_card: { protect: fpe, format: cn-id, key: p }
      phone:   { protect: encrypt, mode: deterministic, key: p }
      name:    { protect: encrypt, blind_index: true, key: p }
      notes:   { protect: encrypt, key: p }
      born:    { protect: encrypt, mode: deterministic, type: date, key: p }
      amount:  { protect: mac, type: decimal, key: p }
      score:   { protect: encrypt, mode: deterministic, type: integer, key: p }
      avatar:  { protect: encrypt, type: blob, key: p }
access:
  - name: app
    match: { users: [root], apps: [app] }
    plaintext: [$DB.people.*]
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;

const COLS = "id, id_card, phone, name, notes, born, amount, score, avatar";

let g: EncryptedMysqlGateway;
let before: Rows;

beforeAll(async () => {
  g = await startEncryptedMysql({ tag: "mig", schemaSql: SCHEMA, policyYaml: POLICY, keys: ["p"] });
  const plain = await g.direct();
  [before] = await plain.query<Rows>({ sql: `SELECT ${COLS} FROM people ORDER BY id`, dateStrings: true });
  await plain.end();
  const db = await MysqlMigrateDb.open(new URL(`mysql://root@127.0.0.1:3306/${g.db}`));
  try {
    const out = await runMigration({
      db,
      policy: g.policy.current(),
      policyDigest: "0".repeat(64),
      keyRing: g.keystore.keyRing(),
      op: "encrypt",
      dryRun: false,
      batch: 2,
      log: () => {},
    });
    expect(out.map((o) => o.status)).toEqual(["migrated"]);
  } finally {
    await db.close();
  }
  await g.enc.runtime.catalogs.refresh(); // the columns changed type under the gateway
});

afterAll(async () => {
  await g?.stop();
});

describe("smgate migrate → MySQL gateway", () => {
  it("stores what migrate wrote: envelopes, FPE, 16-byte companions", async () => {
    const d = await g.direct();
    const [rows] = await d.query<Rows>(
      "SELECT phone, name, name_bidx, amount_mac, born, avatar FROM people WHERE id = 1",
    );
    await d.end();
    expect(rows[0].phone).toMatch(/^smg1:/);
    expect(rows[0].born).toMatch(/^smg1:/);
    expect(rows[0].name_bidx).toHaveLength(16);
    expect(rows[0].amount_mac).toHaveLength(16);
    expect(rows[0].avatar[0]).toBe(0x01);
  });

  it("reads migrated rows back as they were, in both protocols, and finds them by protected predicates", async () => {
    const c = await g.client({ app: "app", extra: { dateStrings: true } });
    const [text] = await c.query<Rows>(`SELECT ${COLS} FROM people ORDER BY id`);
    const [bin] = await c.execute<Rows>(`SELECT ${COLS} FROM people WHERE id > ? ORDER BY id`, [0]);
    expect(text).toEqual(before);
    expect(bin).toEqual(before);
    const [byPhone] = await c.execute<Rows>("SELECT id FROM people WHERE phone = ? ORDER BY id", ["13800138000"]);
    expect(byPhone.map((r) => r.id)).toEqual([1, 3]);
    const [byName] = await c.query<Rows>("SELECT id FROM people WHERE name = 'Alice' ORDER BY id");
    expect(byName.map((r) => r.id)).toEqual([1, 3]);
    const [byCard] = await c.query<Rows>("SELECT id FROM people WHERE id_card = '11010519491231002X'");
    expect(byCard.map((r) => r.id)).toEqual([2]);
    const [byScore] = await c.execute<Rows>("SELECT id FROM people WHERE score = ? AND born = ?", [7, "1990-03-07"]);
    expect(byScore.map((r) => r.id)).toEqual([1]);
    await c.end();
  });

  it("rows written through the gateway after migration match the migrated forms", async () => {
    const c = await g.client({ app: "app", extra: { dateStrings: true } });
    await c.execute(`INSERT INTO people (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      4,
      "110101199003074514",
      "13800138000",
      "Alice",
      "new",
      "1990-03-07",
      "10.5",
      "7",
      Buffer.from([1, 2, 3]),
    ]);
    const [r] = await c.query<Rows>(`SELECT ${COLS} FROM people WHERE id = 4`);
    await c.end();
    expect(r[0]).toMatchObject({ phone: "13800138000", born: "1990-03-07", amount: "10.50", score: 7 });
    const d = await g.direct();
    const [s] = await d.query<Rows>(
      "SELECT id, id_card, phone, born, score, name_bidx, amount_mac FROM people WHERE id IN (1, 4) ORDER BY id",
    );
    await d.end();
    // deterministic forms equal the migrated ones: same plaintext → same stored bytes
    for (const col of ["id_card", "phone", "born", "score"]) expect(s[1][col]).toEqual(s[0][col]);
    expect(Buffer.compare(s[1].name_bidx, s[0].name_bidx)).toBe(0);
    expect(s[1].amount_mac).toHaveLength(16);
  });
});
