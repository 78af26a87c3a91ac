// `smgate policy validate FILE --db URL` against real PostgreSQL and MariaDB tables: missing tables/columns,
// columns too narrow for their transform (with the width needed), types that cannot hold ciphertext, and
// companion columns missing (to be added by migrate) or too small. Widths needed are recomputed here from the
// envelope layout of SPEC §4 with Node's own base64url encoder.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPolicyValidate } from "../../cli/policy.js";
import { envelopeTextLength, neededTextWidth } from "../../policy/validate-db.js";

const dbName = `smg_policy_val_${randomBytes(4).toString("hex")}`;
const dir = mkdtempSync(join(tmpdir(), "smg-policy-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** "smg1:" + unpadded base64url of an envelope of `len` bytes, measured by encoding one. */
const textLen = (len: number) => 5 + Buffer.alloc(len).toString("base64url").length;
const RND = (n: number) => textLen(1 + 4 + 16 + n + 16);
const DET = (n: number) => textLen(1 + 4 + 16 + n);

function policyText(schema: string): string {
  return [
    "version: 1", // 1
    "tables:", // 2
    `  ${schema}.patients:`, // 3
    "    row_key: [id]", // 4
    "    columns:", // 5
    "      id_card: { protect: fpe, format: cn-id }", // 6  varchar(18): fine
    "      phone: { protect: encrypt }", // 7  varchar(18): too narrow
    "      diagnosis: { protect: encrypt }", // 8  text: fine
    "      name: { protect: encrypt, mode: deterministic, max_length: 50 }", // 9 varchar(200) holds DET of 50 chars
    "      nick: { protect: encrypt, blind_index: true }", // 10 text + nick_bidx binary ok
    "      balance: { protect: mac, type: numeric }", // 11 balance_mac missing → warning
    "      old_id: { protect: fpe, format: cn-id }", // 12 varchar(15): FPE needs 18
    "      age: { protect: encrypt, type: integer }", // 13 integer: cannot hold ciphertext
    "      email: { protect: encrypt, mode: deterministic }", // 14 varchar(64): too narrow
    "      ghost: { protect: encrypt }", // 15 no such column
    "      memo: { protect: encrypt, blind_index: true }", // 16 text, memo_bidx too small
    `  ${schema}.nothere:`, // 17
    "    columns: { x: { protect: encrypt } }", // 18
    "access:",
    "  - name: default",
    "    deny: [select, insert, update, delete]",
    "",
  ].join("\n");
}

const DDL_PG = [
  "CREATE TABLE patients (id int PRIMARY KEY, id_card varchar(18), phone varchar(18), diagnosis text, name varchar(200), nick text, nick_bidx bytea, balance numeric(12,2), old_id varchar(15), age integer, email varchar(64), memo text, memo_bidx varchar(8))",
];
const DDL_MY = [
  "CREATE TABLE patients (id int PRIMARY KEY, id_card varchar(18), phone varchar(18), diagnosis text, name varchar(200), nick text, nick_bidx varbinary(16), balance decimal(12,2), old_id varchar(15), age int, email varchar(64), memo text, memo_bidx varbinary(8))",
];

function expectations(schema: string, dialect: "pg" | "my"): [string, string][] {
  return [
    [
      "7:7",
      `${schema.toLowerCase()}.patients.phone is varchar(18): too narrow for a randomized (RND) envelope of a 18-character value`,
    ],
    ["7:7", `needs varchar(${RND(18)}) or wider`],
    ["10:7", ""], // placeholder removed below (nick is fine)
    ["12:7", "FPE keeps the plaintext width and format cn-id needs 18 characters (varchar(18))"],
    [
      "13:7",
      dialect === "pg" ? "is integer, which cannot hold ciphertext" : "is int(11), which cannot hold ciphertext",
    ],
    ["14:7", `needs varchar(${DET(64)}) or wider`],
    ["15:7", `column ghost does not exist in ${schema}.patients`],
    ["16:7", "blind index column"],
    ["17:3", `table ${schema}.nothere does not exist`],
  ].filter(([pos]) => pos !== "10:7") as [string, string][];
}

async function validate(url: string, schema: string) {
  const file = join(dir, `${schema}-policy.yaml`);
  writeFileSync(file, policyText(schema));
  let out = "";
  let err = "";
  const code = await runPolicyValidate(file, { db: url }, { out: (s) => (out += s), err: (s) => (err += s) });
  const lines = err.trim().split("\n");
  if (process.env.SMG_POLICY_DEBUG) console.log(err);
  const problems = lines
    .filter((l) => l.startsWith(`${file}:`) && /^\d+:\d+: /.test(l.slice(file.length + 1)))
    .map((l) => l.slice(file.length + 1))
    .map((l) => {
      const m = /^(\d+:\d+): (warning: )?(.*)$/.exec(l)!;
      return { pos: m[1], warning: m[2] !== undefined, message: m[3] };
    });
  return { code, out, problems };
}

function check(r: Awaited<ReturnType<typeof validate>>, schema: string, dialect: "pg" | "my") {
  expect(r.code).toBe(1);
  const errors = r.problems.filter((p) => !p.warning);
  const warnings = r.problems.filter((p) => p.warning);
  expect(errors.map((e) => e.pos)).toEqual(["7:7", "12:7", "13:7", "14:7", "15:7", "16:7", "17:3"]);
  for (const [pos, fragment] of expectations(schema, dialect)) {
    expect(errors.find((e) => e.pos === pos)?.message, pos).toContain(fragment);
  }
  expect(errors.find((e) => e.pos === "16:7")!.message).toContain(
    "memo_bidx is varbinary(8)".replace("varbinary(8)", dialect === "pg" ? "varchar(8)" : "varbinary(8)"),
  );
  // warnings: balance_mac missing → added by migrate
  expect(warnings.map((w) => w.pos)).toContain("11:7");
  expect(warnings.find((w) => w.pos === "11:7")!.message).toContain(
    "balance_mac: missing, will be added by smgate migrate",
  );
  // fine columns produce nothing
  for (const pos of ["6:7", "8:7", "9:7", "10:7"])
    expect(
      r.problems.some((p) => p.pos === pos),
      pos,
    ).toBe(false);
}

describe("envelope widths", () => {
  it("match the SPEC §4 layouts encoded with base64url", () => {
    for (const n of [0, 1, 2, 3, 11, 18, 64, 100, 255]) {
      expect(neededTextWidth("randomized", n)).toBe(RND(n));
      expect(neededTextWidth("deterministic", n)).toBe(DET(n));
      expect(envelopeTextLength(n)).toBe(textLen(n));
    }
    expect(RND(18)).toBe(79);
  });
});

describe("policy validate --db on PostgreSQL", () => {
  const admin = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test" });
  const url = `postgres://postgres@127.0.0.1:5432/${dbName}`;
  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    for (const d of DDL_PG) await c.query(d);
    await c.end();
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  it("reports every mismatch with the width needed, at the policy's line:col", async () => {
    check(await validate(url, "public"), "public", "pg");
  });

  it("passes once the columns are wide enough", async () => {
    const file = join(dir, "ok.yaml");
    writeFileSync(
      file,
      "version: 1\ntables:\n  public.patients:\n    columns:\n      phone: { protect: encrypt, max_length: 18 }\n      id_card: { protect: fpe, format: cn-id }\n",
    );
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`ALTER TABLE patients ALTER COLUMN phone TYPE varchar(${RND(18)})`);
    await c.end();
    let out = "";
    const code = await runPolicyValidate(file, { db: url }, { out: (s) => (out += s), err: (s) => (out += s) });
    expect(out).toContain("OK");
    expect(code).toBe(0);
  });
});

describe("policy validate --db on MariaDB", () => {
  let admin: mysql.Connection;
  const url = `mysql://root@127.0.0.1:3306/${dbName}`;
  beforeAll(async () => {
    admin = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root" });
    await admin.query(`CREATE DATABASE ${dbName}`);
    const c = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root", database: dbName });
    for (const d of DDL_MY) await c.query(d);
    await c.end();
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
    await admin.end();
  });

  it("reports every mismatch for database.table names", async () => {
    check(await validate(url, dbName), dbName, "my");
  });
});
