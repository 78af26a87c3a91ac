// Binary-format parameters and results on protected columns over the raw protocol (pg-protocol client: a
// Buffer parameter is sent in binary format), and catalog refresh: a table created after start (DDL through
// smgate, or a protected table added by a policy reload) becomes usable without restarting.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, serialize } from "../pg/raw-client.js";
import { adminQuery, type EncryptedGateway, startEncryptedGateway, withClient } from "./encrypt-fixture.js";
import { PATIENTS_POLICY, PATIENTS_SQL } from "./patients-schema.js";

let g: EncryptedGateway;

beforeAll(async () => {
  g = await startEncryptedGateway({
    tag: "bin",
    schemaSql: PATIENTS_SQL,
    policyYaml: PATIENTS_POLICY,
    keys: ["patients"],
  });
}, 60_000);
afterAll(async () => {
  await g?.stop();
});

/** days since 2000-01-01 as PostgreSQL's binary date */
const binDate = (iso: string) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(Math.round((Date.parse(`${iso}T00:00:00Z`) - Date.parse("2000-01-01T00:00:00Z")) / 86_400_000));
  return b;
};
/** a date whose binary form is ASCII-only bytes (the raw client decodes DataRow fields as UTF-8 text) */
const DAY = new Date(Date.UTC(2000, 0, 1) + 0x0460 * 86_400_000).toISOString().slice(0, 10);
const binInt4 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

describe("binary format on protected columns (raw protocol)", () => {
  it("binary parameters are converted to text, encrypted, and match; binary results come back in the plaintext type", async () => {
    const raw = await RawClient.startup(g.port, { database: g.db, application_name: "his" });
    try {
      // INSERT: $1 int4 (plain), $2 date into a DET column (type: date), both in binary format
      raw.send(
        serialize.parse({ text: "INSERT INTO patients (id, birth) VALUES ($1, $2)" }),
        serialize.bind({ values: [binInt4(70), binDate(DAY)] }),
        serialize.execute({}),
        serialize.sync(),
      );
      const ins = await raw.untilReady();
      for (const m of ins)
        if (m.name === "error")
          console.log(
            "ERR",
            (m as unknown as { message: string; code: string }).code,
            (m as unknown as { message: string }).message,
          );
      expect(ins.map((m) => (m.name === "error" ? JSON.stringify(m) : m.name))).toContain("commandComplete");
      // SELECT with a binary date parameter on the DET column, all results in binary
      raw.send(
        serialize.parse({ text: "SELECT id, birth FROM patients WHERE birth = $1" }),
        serialize.bind({ values: [binDate(DAY)], binary: true }),
        serialize.describe({ type: "P" }),
        serialize.execute({}),
        serialize.sync(),
      );
      const msgs = await raw.untilReady();
      const rd = msgs.find((m) => m.name === "rowDescription") as unknown as {
        fields: { name: string; dataTypeID: number; format: string }[];
      };
      expect(rd.fields.map((f) => [f.name, f.dataTypeID, f.format])).toEqual([
        ["id", 23, "binary"],
        ["birth", 1082, "binary"],
      ]);
      const rows = msgs.filter((m) => m.name === "dataRow") as unknown as { fields: string[] }[];
      expect(rows).toHaveLength(1);
      expect(rows[0].fields[0]).toBe(binInt4(70).toString("latin1"));
      expect(rows[0].fields[1]).toBe(binDate(DAY).toString("latin1"));
    } finally {
      raw.end();
    }
    const [s] = (await adminQuery("SELECT birth FROM patients WHERE id = 70", g.db)).rows;
    expect(s.birth).toMatch(/^smg1:/);
    await withClient(g.client({ application_name: "his" }), async (c) => {
      const r = await c.query("SELECT birth::text AS t FROM patients WHERE id = 70").catch((e) => e);
      expect(r.code).toBe("0A000"); // casts on encrypted columns are refused
      const ok = await c.query("SELECT birth FROM patients WHERE id = 70");
      expect((ok.rows[0].birth as Date).getFullYear()).toBe(Number(DAY.slice(0, 4)));
    });
  });
});

describe("catalog refresh", () => {
  it("a protected table added by a policy reload and created directly on the server becomes usable", async () => {
    await adminQuery("CREATE TABLE late (id int PRIMARY KEY, secret text); GRANT ALL ON late TO PUBLIC", g.db);
    const r = g.policy.reload(
      PATIENTS_POLICY.replace(
        "access:\n",
        "  public.late:\n    columns:\n      secret: { protect: encrypt, mode: deterministic, key: patients }\naccess:\n",
      ).replace("plaintext: [public.patients.*]", "plaintext: [public.patients.*, public.late.*]"),
      "policy.yaml",
    );
    expect(r.ok).toBe(true);
    await waitFor(() => g.enc.runtime.catalogs.get(g.db)?.schema.table("public", "late") !== undefined);
    await withClient(g.client({ application_name: "his" }), async (c) => {
      await c.query("INSERT INTO late (id, secret) VALUES ($1, $2)", [1, "late secret"]);
      expect((await c.query("SELECT secret FROM late WHERE secret = $1", ["late secret"])).rows).toEqual([
        { secret: "late secret" },
      ]);
    });
    const [s] = (await adminQuery("SELECT secret FROM late", g.db)).rows;
    expect(s.secret).toMatch(/^smg1:/);
  });

  it("DDL through smgate refreshes the catalog (a new table joins a protected one)", async () => {
    await withClient(g.client({ application_name: "his" }), async (c) => {
      await c.query("CREATE TABLE visits_new (id int, patient_id int)");
      await c.query("INSERT INTO visits_new VALUES (1, 71)");
      await c.query("INSERT INTO patients (id, birth) VALUES (71, '1985-06-15')");
      await waitFor(() => g.enc.runtime.catalogs.get(g.db)?.schema.table("public", "visits_new") !== undefined);
      const r = await c.query("SELECT * FROM patients p JOIN visits_new v ON v.patient_id = p.id");
      expect(r.rows).toHaveLength(1);
      expect((r.rows[0].birth as Date).getFullYear()).toBe(1985);
      expect(r.fields.map((f) => f.name)).not.toContain("name_bidx");
    });
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
