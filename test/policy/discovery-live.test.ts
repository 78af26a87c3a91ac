// Discovery against real PostgreSQL and MariaDB databases seeded by the test: every sensitive column is found
// with its detector, no decoy column reaches the threshold, big tables are sampled (not scanned), and the draft
// policy written by `smgate discover --out` passes the policy loader.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDiscover } from "../../cli/discover.js";
import { openInspector } from "../../policy/db/inspector.js";
import { detectorSet, parseRules, RulesError } from "../../policy/discovery/rules.js";
import { type DiscoveryReport, discover } from "../../policy/discovery/scan.js";
import { parsePolicy } from "../../policy/policy-loader.js";
import * as g from "./sensitive-data-generators.js";

const ROWS = 200;
const SAMPLE = 100;
const dbName = `smg_policy_disc_${randomBytes(4).toString("hex")}`;
const dir = mkdtempSync(join(tmpdir(), "smg-policy-discover-"));

const RULES = `rules:
  - name: employee-no
    pattern: 'EMP\\d{6}'
    suggest: { protect: encrypt, mode: deterministic }
`;

/** column → [detector, suggested transform text] that must be found at or above the threshold */
const SENSITIVE: Record<string, [string, Record<string, unknown>]> = {
  "people.id_card": ["cn-id", { protect: "fpe", format: "cn-id" }],
  "people.mobile": ["cn-mobile", { protect: "fpe", format: "cn-mobile" }],
  "people.email": ["email", { protect: "encrypt", mode: "deterministic" }],
  "people.passport": ["passport", { protect: "encrypt", mode: "deterministic" }],
  "people.employee_no": ["employee-no", { protect: "encrypt", mode: "deterministic" }],
  "orgs.uscc": ["uscc", { protect: "encrypt", mode: "deterministic" }],
  "orgs.landline": ["landline", { protect: "encrypt", mode: "deterministic" }],
  "orgs.card": ["bank-card", { protect: "fpe", format: "bank-card" }],
  "orgs.phone_num": ["cn-mobile", { protect: "fpe", format: "cn-mobile", type: "bigint" }],
  "big_events.contact": ["cn-mobile", { protect: "fpe", format: "cn-mobile" }],
};
const DECOYS = [
  "decoys.fake_id",
  "decoys.fake_mobile",
  "decoys.fake_card",
  "decoys.plain_text",
  "decoys.amount",
  "people.notes",
  "people.mixed_phone",
];

function rowsFor(seed: number) {
  const r = g.rng(seed);
  const people: unknown[][] = [];
  const orgs: unknown[][] = [];
  const decoys: unknown[][] = [];
  for (let i = 1; i <= ROWS; i++) {
    people.push([
      i,
      g.validCnId(r),
      g.validMobile(r),
      g.email(r),
      g.passport(r),
      `EMP${String(100000 + i)}`,
      g.randomText(r),
      r() < 0.5 ? g.validMobile(r) : g.randomText(r),
    ]);
    orgs.push([i, g.validUscc(r), g.landline(r), g.validCard(r), g.validMobile(r)]);
    decoys.push([i, g.wrongCheckCnId(r), g.nonMobile11(r), g.luhnFailCard(r), g.randomText(r), Math.floor(r() * 1e6)]);
  }
  return { people, orgs, decoys };
}

const DDL = [
  "CREATE TABLE people (id int PRIMARY KEY, id_card varchar(18), mobile varchar(20), email varchar(64), passport varchar(9), employee_no varchar(9), notes text, mixed_phone text)",
  "CREATE TABLE orgs (id int PRIMARY KEY, uscc char(18), landline varchar(16), card varchar(19), phone_num bigint)",
  "CREATE TABLE decoys (id int PRIMARY KEY, fake_id varchar(18), fake_mobile varchar(11), fake_card varchar(19), plain_text text, amount int)",
  "CREATE TABLE big_events (id int PRIMARY KEY, contact varchar(11))",
];

async function insertAll(exec: (sql: string, params: unknown[]) => Promise<unknown>, ph: (i: number) => string) {
  const { people, orgs, decoys } = rowsFor(4242);
  for (const [table, rows] of [
    ["people", people],
    ["orgs", orgs],
    ["decoys", decoys],
  ] as const) {
    const width = rows[0].length;
    const values = rows
      .map((_, ri) => `(${Array.from({ length: width }, (_, ci) => ph(ri * width + ci + 1)).join(", ")})`)
      .join(", ");
    await exec(`INSERT INTO ${table} VALUES ${values}`, rows.flat());
  }
}

function checkReport(report: DiscoveryReport, tablePrefix: string) {
  const byCol = new Map(report.findings.map((f) => [`${f.table}.${f.column}`, f]));
  for (const [col, [detector]] of Object.entries(SENSITIVE)) {
    const f = byCol.get(`${tablePrefix}.${col}`);
    expect(f, `${col} found`).toBeDefined();
    expect(f!.detector, col).toBe(detector);
    expect(f!.aboveThreshold, col).toBe(true);
    expect(f!.hitRate, col).toBe(1);
    expect(f!.sampled, col).toBeLessThanOrEqual(SAMPLE);
  }
  for (const col of DECOYS) {
    const f = byCol.get(`${tablePrefix}.${col}`);
    if (f) expect(f.hitRate, `${col} (${f.detector})`).toBeLessThan(report.threshold);
  }
  // the mixed column is seen, but below the threshold
  const mixed = byCol.get(`${tablePrefix}.people.mixed_phone`);
  expect(mixed?.detector).toBe("cn-mobile");
  expect(mixed!.hitRate).toBeGreaterThan(0.3);
  expect(mixed!.hitRate).toBeLessThan(0.7);
  // the big table was sampled, not read whole
  expect(byCol.get(`${tablePrefix}.big_events.contact`)!.sampled).toBeGreaterThanOrEqual(10);
}

async function checkCliAndDraft(url: string, schemaPrefix: string) {
  const out = join(dir, `${schemaPrefix}-draft.yaml`);
  const rules = join(dir, "rules.yaml");
  writeFileSync(rules, RULES);
  let printed = "";
  await runDiscover(
    { db: url, sample: String(SAMPLE), rules, threshold: "0.8", out, progress: false },
    { out: (s) => (printed += s), err: (s) => (printed += s) },
  );
  expect(printed).toMatch(/table\.column\s+detector\s+hit rate\s+samples/);
  expect(printed).toContain(`${schemaPrefix}.people.id_card`);
  expect(printed).toMatch(/people\.mixed_phone\s+cn-mobile\s+\d+\.\d%\s+\d+\s+fpe cn-mobile\s+\(below threshold\)/);
  const text = readFileSync(out, "utf8");
  if (process.env.SMG_POLICY_DEBUG) console.log(printed, text);
  const doc = parsePolicy(text, out);
  for (const [col, [, transform]] of Object.entries(SENSITIVE)) {
    const [t, c] = col.split(".");
    const p = doc.tables.get(`${schemaPrefix}.${t}`)?.columns.get(c);
    expect(p, col).toBeDefined();
    expect(p, col).toMatchObject(transform);
  }
  for (const col of DECOYS) {
    const [t, c] = col.split(".");
    expect(doc.tables.get(`${schemaPrefix}.${t}`)?.columns.has(c) ?? false, col).toBe(false);
  }
  expect(doc.access.map((r) => r.name)).toEqual(["default"]);
  expect(doc.access[0].ops.size).toBe(0);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("discovery on PostgreSQL", () => {
  const admin = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test" });
  const url = `postgres://postgres@127.0.0.1:5432/${dbName}`;
  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      for (const d of DDL) await c.query(d);
      await insertAll(
        (sql, params) => c.query(sql, params),
        (i) => `$${i}`,
      );
      await c.query(
        "INSERT INTO big_events SELECT i, '1' || (3 + floor(random() * 7))::int || lpad(floor(random() * 1e9)::bigint::text, 9, '0') FROM generate_series(1, 60000) i",
      );
      await c.query("ANALYZE");
    } finally {
      await c.end();
    }
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  it("finds every sensitive column and no decoy above the threshold", async () => {
    const db = await openInspector(url);
    try {
      const tables = await db.tables();
      expect(tables.find((t) => t.name === "big_events")!.estimatedRows).toBeGreaterThan(SAMPLE * 10);
      const report = await discover(db, {
        sample: SAMPLE,
        threshold: 0.8,
        detectors: detectorSet(parseRules(RULES, "rules.yaml")),
      });
      checkReport(report, "public");
      // big table: block sampling spreads over the table instead of reading its first rows
      const ids = (await db.sample(tables.find((t) => t.name === "big_events")!, ["id"], SAMPLE)).map((r) =>
        Number(r[0]),
      );
      expect(ids.length).toBe(SAMPLE);
      expect(Math.max(...ids)).toBeGreaterThan(SAMPLE * 10);
    } finally {
      await db.close();
    }
  });

  it("smgate discover prints the table and writes a draft policy the loader accepts", async () => {
    await checkCliAndDraft(url, "public");
  });

  it("--json prints the report as JSON without any sampled value", async () => {
    let printed = "";
    await runDiscover(
      { db: url, sample: "50", json: true, progress: false },
      { out: (s) => (printed += s), err: () => {} },
    );
    const report = JSON.parse(printed) as DiscoveryReport;
    expect(report.findings.find((f) => f.table === "public.people" && f.column === "id_card")?.detector).toBe("cn-id");
    expect(printed).not.toMatch(/EMP1\d{5}|@example\.com|1[3-9]\d{9}/);
  });
});

describe("discovery on MariaDB", () => {
  let admin: mysql.Connection;
  const url = `mysql://root@127.0.0.1:3306/${dbName}`;
  beforeAll(async () => {
    admin = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root" });
    await admin.query(`CREATE DATABASE ${dbName}`);
    const c = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root", database: dbName });
    try {
      for (const d of DDL) await c.query(d);
      await insertAll(
        (sql, params) => c.query(sql, params),
        () => "?",
      );
      await c.query(
        "INSERT INTO big_events SELECT seq, CONCAT('1', 3 + FLOOR(RAND() * 7), LPAD(FLOOR(RAND() * 1000000000), 9, '0')) FROM seq_1_to_30000",
      );
      await c.query("ANALYZE TABLE big_events");
    } finally {
      await c.end();
    }
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
    await admin.end();
  });

  it("finds every sensitive column and no decoy above the threshold (primary-key range sampling on the big table)", async () => {
    const db = await openInspector(url);
    try {
      const report = await discover(db, {
        sample: SAMPLE,
        threshold: 0.8,
        detectors: detectorSet(parseRules(RULES, "rules.yaml")),
      });
      checkReport(report, dbName);
      const big = (await db.tables()).find((t) => t.name === "big_events")!;
      expect(big.estimatedRows).toBeGreaterThan(SAMPLE * 10);
      const ids = (await db.sample(big, ["id"], SAMPLE)).map((r) => Number(r[0]));
      expect(ids.length).toBe(SAMPLE);
      expect(Math.max(...ids)).toBeGreaterThan(SAMPLE * 10);
    } finally {
      await db.close();
    }
  });

  it("smgate discover writes a draft policy for database.table names", async () => {
    await checkCliAndDraft(url, dbName);
  });
});

describe("discovery rules file", () => {
  it("reports an invalid regex and an unknown validator with positions", () => {
    const text = "rules:\n  - name: a\n    pattern: '(unclosed'\n  - name: b\n    pattern: 'x'\n    validator: crc32\n";
    let err: unknown;
    try {
      parseRules(text, "r.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RulesError);
    expect((err as RulesError).problems.map((p) => `${p.line}:${p.col}`)).toEqual(["6:16"]);
    expect(() => parseRules("rules:\n  - name: a\n    pattern: '(unclosed'\n", "r.yaml")).toThrow(
      /r\.yaml:3:14: invalid regular expression/,
    );
  });

  it("a validator filters pattern matches", () => {
    const [d] = parseRules("rules:\n  - name: member-card\n    pattern: '\\d{16}'\n    validator: luhn\n", "r.yaml");
    expect(d.test("4111111111111111")).toBe(true);
    expect(d.test("4111111111111112")).toBe(false);
    expect(d.test("411111111111111")).toBe(false);
  });
});
