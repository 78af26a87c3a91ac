// Policy hot reload through the MySQL encryption layer: an access change reaches open sessions and their
// prepared statements at once (1142), a protection change invalidates prepared plans (1235, prepare again)
// and new statements follow the new protection.
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EncryptedMysqlGateway, startEncryptedMysql } from "./encrypt-fixture.js";

type Rows = mysql.RowDataPacket[];

const policy = (app: string, det: boolean) => `
version: 1
tables:
  $DB.t:
    columns:
      a: { protect: encrypt, ${det ? "mode: deterministic, " : ""}key: k }
      b: { protect: encrypt, mode: deterministic, key: k }
access:
  - name: app
    match: { users: [root], apps: [${app}] }
    plaintext: [$DB.t.*]
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;

let g: EncryptedMysqlGateway;

beforeAll(async () => {
  g = await startEncryptedMysql({
    tag: "reload",
    schemaSql: "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(200), b VARCHAR(200))",
    policyYaml: policy("app", true),
    keys: ["k"],
  });
});

afterAll(async () => {
  await g?.stop();
});

const reload = (text: string) => {
  const r = g.policy.reload(text.replaceAll("$DB", g.db), "policy.yaml");
  if (!r.ok) throw new Error(JSON.stringify(r));
};

describe("policy reload", () => {
  it("applies access and protection changes to open sessions and prepared statements", async () => {
    const c = await g.client({ app: "app" });
    await c.execute("INSERT INTO t (id, a, b) VALUES (?, ?, ?)", [1, "x", "y"]);
    const byA = await c.prepare("SELECT id FROM t WHERE a = ?");
    const [r1] = (await byA.execute(["x"])) as unknown as [Rows];
    expect(r1.map((r) => r.id)).toEqual([1]);
    // access change only: the same session and statement are denied at once
    reload(policy("other", true));
    await expect(byA.execute(["x"])).rejects.toMatchObject({ errno: 1142 });
    await expect(c.query("SELECT b FROM t")).rejects.toMatchObject({ errno: 1142 });
    reload(policy("app", true));
    const [r2] = (await byA.execute(["x"])) as unknown as [Rows];
    expect(r2.map((r) => r.id)).toEqual([1]);
    // protection change: a becomes randomized → the prepared plan is stale; a new search is refused
    reload(policy("app", false));
    await expect(byA.execute(["x"])).rejects.toMatchObject({ errno: 1235 });
    await expect(c.execute("SELECT id FROM t WHERE a = ?", ["x"])).rejects.toMatchObject({
      errno: 1235,
      message: expect.stringContaining("a"),
    });
    // unaffected columns keep working
    const [r3] = await c.query<Rows>("SELECT id, a, b FROM t WHERE b = 'y'");
    expect(r3).toEqual([{ id: 1, a: "x", b: "y" }]);
    await byA.close();
    await c.end();
  });
});
