// Protocol paths of the encryption layer beyond what node-postgres exercises: multi-statement simple
// queries (each result decrypted with its own statement's shape), Execute without Describe (row shape from
// the analysis), portals with row limits (PortalSuspended, the transform reused), pipelined Bind/Execute.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, serialize } from "../pg/raw-client.js";
import { type EncryptedGateway, startEncryptedGateway, withClient } from "./encrypt-fixture.js";
import { PATIENTS_POLICY, PATIENTS_SQL } from "./patients-schema.js";

let g: EncryptedGateway;

beforeAll(async () => {
  g = await startEncryptedGateway({
    tag: "proto",
    schemaSql: PATIENTS_SQL,
    policyYaml: PATIENTS_POLICY,
    keys: ["patients"],
  });
  await withClient(g.client({ application_name: "his" }), (c) =>
    c.query(
      "INSERT INTO patients (id, phone, name, diagnosis) VALUES (1, '13800000001', 'A', 'd1'), (2, '13800000002', 'B', 'd2'), (3, '13800000003', 'C', 'd3')",
    ),
  );
  // what is stored: envelopes, never the plaintext
  const stored = await withClient(
    g.direct(),
    async (c) => (await c.query("SELECT phone, name, diagnosis FROM patients")).rows,
  );
  for (const r of stored) for (const v of Object.values(r)) expect(v).toMatch(/^smg1:/);
}, 60_000);
afterAll(async () => {
  await g?.stop();
});

type DataRow = { name: string; fields: (string | null)[] };
const rowsOf = (msgs: { name: string }[]) =>
  (msgs.filter((m) => m.name === "dataRow") as unknown as DataRow[]).map((r) => r.fields);

describe("protocol paths", () => {
  it("multi-statement simple query: each result decrypted with its own shape", async () => {
    await withClient(g.client({ application_name: "his" }), async (c) => {
      const res = (await c.query(
        "SELECT phone FROM patients WHERE id = 1; INSERT INTO patients (id, phone) VALUES (9, '13900000009'); SELECT id, name, diagnosis FROM patients WHERE phone = '13900000009' OR id = 2 ORDER BY id",
      )) as unknown as { rows: unknown[] }[];
      expect(res[0].rows).toEqual([{ phone: "13800000001" }]);
      expect(res[2].rows).toEqual([
        { id: 2, name: "B", diagnosis: "d2" },
        { id: 9, name: null, diagnosis: null },
      ]);
    });
  });

  it("multi-statement simple query mixing SHOW / EXPLAIN results with protected ones", async () => {
    await withClient(g.client({ application_name: "his" }), async (c) => {
      const res = (await c.query(
        "SHOW search_path; SELECT phone FROM patients WHERE id = 1; EXPLAIN SELECT 1; SELECT id, diagnosis FROM patients WHERE id = 2",
      )) as unknown as { rows: Record<string, unknown>[] }[];
      expect(res[0].rows[0]).toHaveProperty("search_path");
      expect(res[1].rows).toEqual([{ phone: "13800000001" }]);
      expect(res[2].rows.length).toBeGreaterThan(0);
      expect(res[3].rows).toEqual([{ id: 2, diagnosis: "d2" }]);
    });
  });

  it("Execute without Describe, with a row limit (PortalSuspended), then the rest", async () => {
    const raw = await RawClient.startup(g.port, { database: g.db, application_name: "his" });
    try {
      raw.send(
        serialize.parse({ text: "SELECT id, phone, diagnosis FROM patients WHERE id <= 3 ORDER BY id" }),
        serialize.bind({}),
        serialize.execute({ rows: 2 }),
        serialize.execute({ rows: 0 }),
        serialize.sync(),
      );
      const msgs = await raw.untilReady();
      expect(msgs.map((m) => m.name)).toContain("portalSuspended");
      expect(rowsOf(msgs)).toEqual([
        ["1", "13800000001", "d1"],
        ["2", "13800000002", "d2"],
        ["3", "13800000003", "d3"],
      ]);
    } finally {
      raw.end();
    }
  });

  it("pipelined Parse/Bind/Execute of several statements before one Sync", async () => {
    const raw = await RawClient.startup(g.port, { database: g.db, application_name: "his" });
    try {
      raw.send(
        serialize.parse({ name: "s1", text: "SELECT diagnosis FROM patients WHERE phone = $1" }),
        serialize.parse({ name: "s2", text: "SELECT name FROM patients WHERE name = $1" }),
        serialize.bind({ statement: "s1", values: ["13800000003"] }),
        serialize.describe({ type: "P" }),
        serialize.execute({}),
        serialize.bind({ statement: "s2", values: ["A"] }),
        serialize.describe({ type: "P" }),
        serialize.execute({}),
        serialize.bind({ statement: "s1", values: ["13800000001"] }),
        serialize.execute({}),
        serialize.sync(),
      );
      const msgs = await raw.untilReady();
      expect(rowsOf(msgs)).toEqual([["d3"], ["A"], ["d1"]]);
    } finally {
      raw.end();
    }
  });
});
