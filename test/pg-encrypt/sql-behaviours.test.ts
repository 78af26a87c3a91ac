// SPEC §7 behaviours on protected columns through the real gateway in front of PostgreSQL 15, each read
// twice: through smgate (what the app sees) and directly from the server (what is stored). Parameters in
// text and binary format and literals; refusals (0A000), denials (42501), masks per subject, MAC
// companions verified and stripped, tampering → XX001.
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, serialize } from "../pg/raw-client.js";
import { type EncryptedGateway, ensureRole, startEncryptedGateway, withClient } from "./encrypt-fixture.js";
import { ANALYST, IDS, PATIENTS_POLICY, PATIENTS_SQL } from "./patients-schema.js";

let g: EncryptedGateway;
const his = () => g.client({ application_name: "his" });
const isEnvelope = (v: unknown) => typeof v === "string" && /^smg1:[A-Za-z0-9_-]+$/.test(v);

async function stored(sql: string): Promise<Record<string, unknown>[]> {
  return withClient(g.direct(), async (c) => (await c.query(sql)).rows);
}

beforeAll(async () => {
  await ensureRole(ANALYST);
  g = await startEncryptedGateway({
    tag: "sql",
    schemaSql: PATIENTS_SQL,
    policyYaml: PATIENTS_POLICY,
    keys: ["patients"],
  });
}, 60_000);
afterAll(async () => {
  await g?.stop();
});

describe("INSERT and SELECT", () => {
  it("multi-row INSERT with literals is stored encrypted and read back in plaintext", async () => {
    await withClient(his(), async (c) => {
      await c.query(
        `INSERT INTO patients (id, id_card, phone, diagnosis, name, balance, birth) VALUES
         (1, '${IDS[0]}', '13800000001', 'flu', 'Li Lei', 10.5, '1990-03-07'),
         (2, '${IDS[1]}', '13800000002', 'cold', 'Han Meimei', 20, '1949-12-31')`,
      );
      const r = await c.query(
        "SELECT id, id_card, phone, diagnosis, name, balance, birth FROM patients WHERE id IN (1, 2) ORDER BY id",
      );
      expect(r.rows[0]).toMatchObject({
        id: 1,
        id_card: IDS[0],
        phone: "13800000001",
        diagnosis: "flu",
        name: "Li Lei",
        balance: "10.5",
      });
      expect(r.rows[1]).toMatchObject({
        id: 2,
        id_card: IDS[1],
        phone: "13800000002",
        diagnosis: "cold",
        name: "Han Meimei",
      });
      // birth is shown as a date (policy type: date): node-postgres parses it into a Date
      expect(r.rows[0].birth).toBeInstanceOf(Date);
    });
    const s = await stored("SELECT * FROM patients WHERE id IN (1, 2) ORDER BY id");
    expect(isEnvelope(s[0].phone)).toBe(true);
    expect(isEnvelope(s[0].diagnosis)).toBe(true);
    expect(isEnvelope(s[0].name)).toBe(true);
    expect(isEnvelope(s[0].birth)).toBe(true);
    expect(s[0].id_card).toMatch(/^110101\d{11}[\dX]$/); // FPE keeps the region prefix and the format
    expect(s[0].id_card).not.toBe(IDS[0]);
    expect(s[0].balance).toBe("10.5"); // MAC columns stay plaintext
    expect(typeof s[0].balance_mac).toBe("string");
    expect(s[0].name_bidx).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("INSERT with parameters (text format), RETURNING decrypts, companions hidden", async () => {
    await withClient(his(), async (c) => {
      const r = await c.query(
        "INSERT INTO patients (id, id_card, phone, diagnosis, name, balance, birth, photo) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        [3, IDS[2], "13900000003", "asthma", "Wang Wu", "7.25", "2001-02-03", Buffer.from([1, 2, 3, 255])],
      );
      expect(r.fields.map((f) => f.name)).toEqual([
        "id",
        "id_card",
        "phone",
        "diagnosis",
        "name",
        "balance",
        "birth",
        "photo",
        "note",
      ]);
      expect(r.rows[0]).toMatchObject({
        id: 3,
        id_card: IDS[2],
        phone: "13900000003",
        diagnosis: "asthma",
        name: "Wang Wu",
        balance: "7.25",
      });
      expect(r.rows[0].photo).toEqual(Buffer.from([1, 2, 3, 255]));
    });
    const [s] = await stored("SELECT * FROM patients WHERE id = 3");
    expect(isEnvelope(s.phone)).toBe(true);
    expect(Buffer.isBuffer(s.photo)).toBe(true);
    expect((s.photo as Buffer)[0]).toBe(0x01); // RND envelope version byte, raw in bytea
    expect((s.photo as Buffer).length).toBeGreaterThan(4 + 1 + 4 + 16 + 16 - 1);
  });

  it("parameters in binary format and binary results (extended protocol)", async () => {
    await withClient(his(), async (c) => {
      const r = await c.query({
        text: "INSERT INTO patients (id, phone, name) VALUES ($1, $2, $3) RETURNING id, phone, name",
        values: [4, "13700000004", "Zhao Liu"],
        binary: true,
      } as unknown as pg.QueryConfig);
      expect(r.rows[0]).toEqual({ id: 4, phone: "13700000004", name: "Zhao Liu" });
      const q = await c.query({
        text: "SELECT id, phone FROM patients WHERE phone = $1",
        values: ["13800000001"],
        binary: true,
      } as unknown as pg.QueryConfig);
      expect(q.rows).toHaveLength(1);
      expect(q.rows[0].id).toBe(1);
      expect(q.rows[0].phone).toBe("13800000001");
    });
  });

  it("ParameterDescription and RowDescription show the plaintext types", async () => {
    await withClient(his(), async (c) => {
      const r = await c.query({
        name: "pd1",
        text: "SELECT id, birth, phone, photo FROM patients WHERE birth = $1",
        values: ["1990-03-07"],
      });
      expect(r.fields.find((f) => f.name === "birth")?.dataTypeID).toBe(1082);
      expect(r.fields.find((f) => f.name === "phone")?.dataTypeID).toBe(25);
      expect(r.fields.find((f) => f.name === "photo")?.dataTypeID).toBe(17);
      expect(r.rows.map((x) => x.id)).toEqual([1]);
    });
    // ParameterDescription through a raw Parse + Describe S (pg-protocol client)
    const raw = await RawClient.startup(g.port, { database: g.db, application_name: "his" });
    try {
      raw.send(
        serialize.parse({ name: "pd2", text: "SELECT id, birth FROM patients WHERE birth = $1 AND id = $2" }),
        serialize.describe({ type: "S", name: "pd2" }),
        serialize.sync(),
      );
      const msgs = await raw.untilReady();
      const pd = msgs.find((m) => m.name === "parameterDescription") as unknown as { dataTypeIDs: number[] };
      expect(pd.dataTypeIDs).toEqual([1082, 23]);
      const rd = msgs.find((m) => m.name === "rowDescription") as unknown as {
        fields: { name: string; dataTypeID: number }[];
      };
      expect(rd.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
        ["id", 23],
        ["birth", 1082],
      ]);
    } finally {
      raw.end();
    }
  });
});

describe("WHERE, JOIN, GROUP BY on protected columns", () => {
  it("= / <> / IN / IS NULL on DET, FPE and blind-index columns, with literals and parameters", async () => {
    await withClient(his(), async (c) => {
      const ids = async (sql: string, values?: unknown[]) => (await c.query(sql, values)).rows.map((r) => r.id).sort();
      expect(await ids("SELECT id FROM patients WHERE phone = '13800000002'")).toEqual([2]);
      expect(await ids("SELECT id FROM patients WHERE phone = $1", ["13800000002"])).toEqual([2]);
      expect(await ids("SELECT id FROM patients WHERE phone <> $1 AND id <= 3", ["13800000002"])).toEqual([1, 3]);
      expect(await ids("SELECT id FROM patients WHERE phone IN ('13800000001', $1)", ["13900000003"])).toEqual([1, 3]);
      expect(await ids(`SELECT id FROM patients WHERE id_card = '${IDS[1]}'`)).toEqual([2]);
      expect(await ids("SELECT id FROM patients WHERE id_card = $1", [IDS[2]])).toEqual([3]);
      expect(await ids("SELECT id FROM patients WHERE name = 'Li Lei'")).toEqual([1]);
      expect(await ids("SELECT id FROM patients WHERE name = $1", ["Zhao Liu"])).toEqual([4]);
      expect(await ids("SELECT id FROM patients WHERE birth IS NULL AND id <= 4")).toEqual([4]);
      expect(await ids("SELECT id FROM patients WHERE diagnosis IS NOT NULL AND id <= 4")).toEqual([1, 2, 3]);
    });
  });

  it("JOIN on equal DET values of the same column; GROUP BY and DISTINCT on DET", async () => {
    await withClient(his(), async (c) => {
      await c.query("INSERT INTO patients (id, phone) VALUES (10, '13800000001'), (11, '13800000001')");
      const j = await c.query(
        "SELECT a.id AS a, b.id AS b FROM patients a JOIN patients b ON a.phone = b.phone WHERE a.id = 1 ORDER BY b.id",
      );
      expect(j.rows.map((r) => r.b)).toEqual([1, 10, 11]);
      const grp = await c.query("SELECT phone, count(*)::int AS n FROM patients GROUP BY phone HAVING count(*) > 1");
      expect(grp.rows).toEqual([{ phone: "13800000001", n: 3 }]);
      const d = await c.query("SELECT DISTINCT phone FROM patients WHERE id IN (1, 10, 11)");
      expect(d.rows).toEqual([{ phone: "13800000001" }]);
      await c.query("DELETE FROM patients WHERE id IN (10, 11)");
    });
  });

  it("UPDATE and DELETE on protected columns (parameters and literals), INSERT … ON CONFLICT", async () => {
    await withClient(his(), async (c) => {
      await c.query("UPDATE patients SET diagnosis = $1, name = $2 WHERE phone = $3", [
        "bronchitis",
        "Li Lei 2",
        "13800000001",
      ]);
      await c.query("UPDATE patients SET balance = 99.5 WHERE id = 1");
      await c.query(`UPDATE patients SET id_card = '${IDS[2]}' WHERE id = 2`);
      const r = await c.query("SELECT diagnosis, name, balance FROM patients WHERE id = 1");
      expect(r.rows[0]).toEqual({ diagnosis: "bronchitis", name: "Li Lei 2", balance: "99.5" });
      expect((await c.query("SELECT id FROM patients WHERE name = $1", ["Li Lei 2"])).rows).toEqual([{ id: 1 }]);
      expect((await c.query("SELECT id_card FROM patients WHERE id = 2")).rows[0].id_card).toBe(IDS[2]);
      await c.query(
        "INSERT INTO patients (id, name, phone) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, phone = EXCLUDED.phone",
        [4, "Zhao Liu 2", "13700000009"],
      );
      expect((await c.query("SELECT name, phone FROM patients WHERE id = 4")).rows[0]).toEqual({
        name: "Zhao Liu 2",
        phone: "13700000009",
      });
      expect((await c.query("SELECT id FROM patients WHERE name = 'Zhao Liu 2'")).rows).toEqual([{ id: 4 }]);
      await c.query("INSERT INTO patients (id, phone) VALUES (20, '13000000020')");
      const del = await c.query("DELETE FROM patients WHERE phone = $1", ["13000000020"]);
      expect(del.rowCount).toBe(1);
    });
    const [s] = await stored("SELECT diagnosis, name, name_bidx, balance, balance_mac FROM patients WHERE id = 1");
    expect(isEnvelope(s.diagnosis)).toBe(true);
    expect(s.balance).toBe("99.5");
  });
});

describe("integrity MACs", () => {
  it("a MAC column is verified and its companion stripped; tampering on the server gives XX001", async () => {
    await withClient(his(), async (c) => {
      await c.query("INSERT INTO patients (id, balance) VALUES ($1, $2)", [30, "123.45"]);
      const r = await c.query("SELECT * FROM patients WHERE id = 30");
      expect(r.fields.map((f) => f.name)).not.toContain("balance_mac");
      expect(r.fields.map((f) => f.name)).not.toContain("name_bidx");
      expect(r.rows[0].balance).toBe("123.45");
    });
    await withClient(g.direct(), (c) => c.query("UPDATE patients SET balance = 999999 WHERE id = 30"));
    const before = await failures();
    await withClient(his(), async (c) => {
      await expect(c.query("SELECT id, balance FROM patients WHERE id = 30")).rejects.toMatchObject({ code: "XX001" });
      await expect(c.query({ text: "SELECT balance FROM patients WHERE id = $1", values: [30] })).rejects.toMatchObject(
        {
          code: "XX001",
        },
      );
      // the session stays usable
      expect((await c.query("SELECT balance FROM patients WHERE id = 1")).rows[0].balance).toBe("99.5");
    });
    expect(await failures()).toBeGreaterThan(before);
    expect(g.audit.find((e) => e.type === "integrity_failure")).toMatchObject({ target: "public.patients.balance" });
    await withClient(g.direct(), (c) => c.query("DELETE FROM patients WHERE id = 30"));
  });

  it("on_integrity_failure: flag passes the tampered row and counts it", async () => {
    const flagged = PATIENTS_POLICY.replace(
      "balance:   { protect: mac, type: numeric, key: patients }",
      "balance:   { protect: mac, type: numeric, key: patients, on_integrity_failure: flag }",
    );
    expect(flagged).not.toBe(PATIENTS_POLICY);
    expect(g.policy.reload(flagged, "policy.yaml").ok).toBe(true);
    try {
      await withClient(his(), (c) => c.query("INSERT INTO patients (id, balance) VALUES (32, 5)"));
      await withClient(g.direct(), (c) => c.query("UPDATE patients SET balance = 6 WHERE id = 32"));
      const before = await failures();
      await withClient(his(), async (c) => {
        expect((await c.query("SELECT balance FROM patients WHERE id = 32")).rows).toEqual([{ balance: "6" }]);
      });
      expect(await failures()).toBe(before + 1);
    } finally {
      expect(g.policy.reload(PATIENTS_POLICY, "policy.yaml").ok).toBe(true);
      await withClient(g.direct(), (c) => c.query("DELETE FROM patients WHERE id = 32"));
    }
  });

  it("a tampered ciphertext (bad tag) gives XX001 naming the column", async () => {
    await withClient(his(), (c) => c.query("INSERT INTO patients (id, diagnosis) VALUES (31, 'secret-diag')"));
    await withClient(g.direct(), (c) =>
      // flip one base64url character inside the envelope
      c.query(
        "UPDATE patients SET diagnosis = left(diagnosis, 15) || CASE WHEN substr(diagnosis, 16, 1) = 'A' THEN 'B' ELSE 'A' END || substr(diagnosis, 17) WHERE id = 31",
      ),
    );
    await withClient(his(), async (c) => {
      await expect(c.query("SELECT diagnosis FROM patients WHERE id = 31")).rejects.toMatchObject({
        code: "XX001",
        message: expect.stringContaining("public.patients.diagnosis"),
      });
    });
    await withClient(g.direct(), (c) => c.query("DELETE FROM patients WHERE id = 31"));
  });
});

describe("metrics", () => {
  it("counts decrypted fields per column (non-NULL values only), labels carry names only", async () => {
    const count = async () =>
      (await g.metrics.fields.get()).values.find(
        (v) => v.labels.column === "public.patients.phone" && v.labels.action === "decrypted",
      )?.value ?? 0;
    const before = await count();
    await withClient(his(), async (c) => {
      await c.query("INSERT INTO patients (id) VALUES (40)"); // phone NULL
      const r = await c.query("SELECT phone FROM patients WHERE id IN (1, 2, 40)");
      expect(r.rows.filter((x) => x.phone !== null)).toHaveLength(2);
      await c.query("DELETE FROM patients WHERE id = 40");
    });
    expect((await count()) - before).toBe(2);
  });
});

async function failures(): Promise<number> {
  const m = await g.metrics.integrityFailures.get();
  return m.values.reduce((a, v) => a + v.value, 0);
}

describe("refusals and denials", () => {
  it.each([
    ["LIKE", "SELECT id FROM patients WHERE diagnosis LIKE '%flu%'", "public.patients.diagnosis"],
    ["range", "SELECT id FROM patients WHERE phone > '138'", "public.patients.phone"],
    ["ORDER BY", "SELECT id FROM patients ORDER BY phone", "public.patients.phone"],
    ["function", "SELECT upper(name) FROM patients", "public.patients.name"],
    [
      "RND equality without blind index",
      "SELECT id FROM patients WHERE diagnosis = 'flu'",
      "public.patients.diagnosis",
    ],
    ["cast", "SELECT phone::int FROM patients", "public.patients.phone"],
    ["COPY", "COPY patients TO STDOUT", "COPY"],
  ])("%s on an encrypted column → 0A000 naming the column (simple and extended)", async (_n, sql, col) => {
    await withClient(his(), async (c) => {
      await expect(c.query(sql)).rejects.toMatchObject({ code: "0A000", message: expect.stringContaining(col) });
      await expect(c.query({ text: sql, values: [] })).rejects.toMatchObject({ code: "0A000" });
      expect((await c.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    });
  });

  it("policy denials → 42501 (table and column level), audited in metrics", async () => {
    await withClient(g.client({ application_name: "other" }), async (c) => {
      await expect(c.query("SELECT id FROM patients")).rejects.toMatchObject({ code: "42501" });
      await expect(c.query("INSERT INTO patients (id, phone) VALUES ($1, $2)", [50, "1"])).rejects.toMatchObject({
        code: "42501",
      });
    });
    await withClient(g.client({ user: ANALYST }), async (c) => {
      await expect(c.query("SELECT diagnosis FROM patients")).rejects.toMatchObject({
        code: "42501",
        message: expect.stringContaining("public.patients.diagnosis"),
      });
      await expect(c.query("UPDATE patients SET phone = '1' WHERE id = 1")).rejects.toMatchObject({ code: "42501" });
    });
    // a denied column may not be used in a predicate either (it would leak through the result)
    await withClient(g.client({ user: ANALYST }), async (c) => {
      await expect(c.query("SELECT id FROM patients WHERE diagnosis IS NULL")).rejects.toMatchObject({
        code: "42501",
        message: expect.stringContaining("public.patients.diagnosis"),
      });
      expect((await c.query("SELECT id FROM patients WHERE id = 1")).rows).toEqual([{ id: 1 }]);
    });
    const d = await g.metrics.denials.get();
    expect(d.values.reduce((a, v) => a + v.value, 0)).toBeGreaterThanOrEqual(5);
    const denials = g.audit.filter((e) => e.type === "denial");
    expect(denials.length).toBeGreaterThanOrEqual(5);
    expect(denials.find((e) => e.actor === ANALYST)).toMatchObject({
      target: "public.patients.diagnosis",
      outcome: "denied",
    });
  });

  it("masks per subject: analyst sees masks (and plaintext name), reporting app sees stored ciphertext", async () => {
    await withClient(g.client({ user: ANALYST }), async (c) => {
      const r = await c.query("SELECT id, id_card, phone, name FROM patients WHERE id = 2");
      expect(r.rows[0].phone).toBe("138****0002");
      expect(r.rows[0].id_card).toBe(`${IDS[2].slice(0, 3)}${"*".repeat(11)}${IDS[2].slice(-4)}`);
      expect(r.rows[0].name).toBe("Han Meimei");
      expect(r.fields.find((f) => f.name === "phone")?.dataTypeID).toBe(25);
    });
    const [s] = await stored("SELECT phone, id_card FROM patients WHERE id = 2");
    await withClient(g.client({ application_name: "report" }), async (c) => {
      const r = await c.query("SELECT phone, id_card FROM patients WHERE id = 2");
      expect(r.rows[0]).toEqual(s);
    });
  });

  it("address rules match the client address (CIDR)", async () => {
    const withAddresses = PATIENTS_POLICY.replace(
      "access:\n",
      `access:
  - name: local
    match: { apps: [local-app], addresses: ["127.0.0.0/8"] }
    allow: [select]
    plaintext: [public.patients.phone]
  - name: remote
    match: { apps: [remote-app], addresses: ["10.0.0.0/8"] }
    allow: [select]
    plaintext: [public.patients.phone]
`,
    );
    expect(g.policy.reload(withAddresses, "policy.yaml").ok).toBe(true);
    try {
      await withClient(g.client({ application_name: "local-app" }), async (c) => {
        expect((await c.query("SELECT phone FROM patients WHERE id = 2")).rows).toEqual([{ phone: "13800000002" }]);
      });
      await withClient(g.client({ application_name: "remote-app" }), async (c) => {
        await expect(c.query("SELECT phone FROM patients WHERE id = 2")).rejects.toMatchObject({ code: "42501" });
      });
    } finally {
      expect(g.policy.reload(PATIENTS_POLICY, "policy.yaml").ok).toBe(true);
    }
  });

  it("a statement on a protected table unknown to the catalog is refused (fail closed)", async () => {
    // the policy protects public.patients only; a protected table missing from the catalog is simulated by
    // asking for a schema-qualified name the catalog does not know under the protected name
    await withClient(his(), async (c) => {
      await expect(c.query("SELECT * FROM nosuchschema.patients")).rejects.toBeDefined();
    });
  });
});
