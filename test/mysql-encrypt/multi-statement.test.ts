// Multi-statement COM_QUERY texts (CLIENT_MULTI_STATEMENTS allowed on the gateway): each statement is
// rewritten, and each resultset is decrypted with its own statement's analysis even when OK results of
// other statements come before it.
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EncryptedMysqlGateway, startEncryptedMysql } from "./encrypt-fixture.js";

const POLICY = `
version: 1
tables:
  $DB.t:
    row_key: [id]
    columns:
      a: { protect: encrypt, mode: deterministic, key: k }
      m: { protect: mac, key: k }
access:
  - name: app
    match: { users: [root], apps: [app] }
    plaintext: [$DB.t.*]
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;

let g: EncryptedMysqlGateway;

beforeAll(async () => {
  g = await startEncryptedMysql({
    tag: "multi",
    schemaSql: "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(200), m VARCHAR(20), m_mac VARBINARY(16))",
    policyYaml: POLICY,
    keys: ["k"],
    allowMultiStatements: true,
  });
});

afterAll(async () => {
  await g?.stop();
});

describe("multi-statement queries", () => {
  it("rewrites every statement and decrypts each resultset with its own analysis", async () => {
    const c = await g.client({ app: "app", extra: { multipleStatements: true } });
    const [results] = await c.query(
      "INSERT INTO t (id, a, m) VALUES (1, 'one', 'x'), (2, 'two', 'y'); SELECT id, a, m FROM t WHERE a = 'two'; " +
        "UPDATE t SET m = 'z' WHERE id = 1; SELECT a, m, id FROM t ORDER BY id",
    );
    const r = results as unknown as [
      mysql.ResultSetHeader,
      mysql.RowDataPacket[],
      mysql.ResultSetHeader,
      mysql.RowDataPacket[],
    ];
    expect(r[0].affectedRows).toBe(2);
    expect(r[1]).toEqual([{ id: 2, a: "two", m: "y" }]);
    expect(r[3]).toEqual([
      { a: "one", m: "z", id: 1 },
      { a: "two", m: "y", id: 2 },
    ]);
    await c.end();
    const d = await g.direct();
    const [stored] = await d.query<mysql.RowDataPacket[]>("SELECT a, m_mac FROM t ORDER BY id");
    await d.end();
    expect(stored[0].a).toMatch(/^smg1:/);
    expect(stored[0].m_mac).toHaveLength(16);
  });
});
