// MySQL drivers of the bench against the real MariaDB (own database, dropped after): the streaming reader counts
// every row of a SELECT and reports server errors; the insert load's row count matches what the table holds;
// the encrypted scenarios' data is in migrate's storage form (smg1: envelopes, FPE in place) and decrypts back.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MYSQL, mysqlQuery } from "../../bench/drivers/mysql-client.js";
import { runInsertLoad } from "../../bench/drivers/mysql-insert.js";
import { mysqlStreamQuery } from "../../bench/drivers/mysql-stream.js";
import {
  createKeystore,
  createMysqlEncTables,
  ENC_NAME_WIDTH,
  encryptedRows,
  loadEncryptedRows,
  loadPlainRows,
  mysqlEncPolicy,
  openCodecs,
  plainRow,
  TABLES,
} from "../../bench/scenarios/mysql-encrypted-data.js";
import { isMysqlEncryptionRefusal } from "../../bench/targets/mysql-smgate-encrypted.js";
import { compilePolicy } from "../../policy/compile.js";
import { parsePolicy } from "../../policy/policy-loader.js";

const DB = `smg_bench_t_my_${randomBytes(4).toString("hex")}`;
const SERVER = { ...DEFAULT_MYSQL };
const dir = mkdtempSync(join(tmpdir(), "smg-bench-mysql-"));
const KS = { path: join(dir, "keystore.json"), passphrase: randomBytes(18).toString("base64url") };

beforeAll(async () => {
  await createMysqlEncTables(SERVER, DB);
  await createKeystore(KS);
});

afterAll(async () => {
  await mysqlQuery(SERVER, `DROP DATABASE IF EXISTS ${DB}`);
  rmSync(dir, { recursive: true, force: true });
});

describe("mysqlStreamQuery (mariadb --quick | wc -l)", () => {
  it("counts every row of a 100,000-row SELECT", async () => {
    const r = await mysqlStreamQuery(
      { ...SERVER, database: DB },
      "SELECT seq, CONCAT('row ', seq) FROM seq_1_to_100000",
    );
    expect(r.rows).toBe(100_000);
    expect(r.elapsedMs).toBeGreaterThan(0);
  });

  it("rejects with the server's error", async () => {
    await expect(mysqlStreamQuery({ ...SERVER, database: DB }, "SELECT * FROM smg_no_such_table")).rejects.toThrow(
      /exited with 1: .*doesn't exist/,
    );
  });
});

describe("runInsertLoad (mysql2 prepared INSERTs)", () => {
  it("inserts from 2 clients for 1 s; the count it reports is what the table holds", async () => {
    const res = await runInsertLoad({
      endpoint: { ...SERVER, database: DB },
      clients: 2,
      durationSec: 1,
      sql: `INSERT INTO ${TABLES.insertPlain} (id, name, phone, amount) VALUES (?, ?, ?, ?)`,
      row: (id) => {
        const p = plainRow(id);
        return [id, p.name, p.phone, p.amount];
      },
      firstId: 1,
    });
    expect(res.failed).toBe(0);
    expect(res.rows).toBeGreaterThan(0);
    const [c] = await mysqlQuery<{ n: number; bad: number }>(
      { ...SERVER, database: DB },
      `SELECT COUNT(*) AS n, SUM(name <> CONCAT('patient name ', id)) AS bad FROM ${TABLES.insertPlain}`,
    );
    expect(Number(c.n)).toBe(res.rows);
    expect(Number(c.bad)).toBe(0);
    expect(res.p99Ms).toBeGreaterThanOrEqual(res.p50Ms);
  });

  it("counts failures (duplicate keys) instead of rows", async () => {
    const res = await runInsertLoad({
      endpoint: { ...SERVER, database: DB },
      clients: 1,
      durationSec: 0.3,
      sql: `INSERT INTO ${TABLES.insertPlain} (id, name, phone, amount) VALUES (?, ?, ?, ?)`,
      row: () => [1, "dup", "13800000001", 1],
      firstId: 1,
    }).catch((e: Error) => e);
    // either stopped after >100 failures, or finished with only failures
    if (res instanceof Error) expect(res.message).toMatch(/inserts keep failing: .*Duplicate/);
    else {
      expect(res.rows).toBe(0);
      expect(res.failed).toBeGreaterThan(0);
      expect(res.firstError).toMatch(/Duplicate/);
    }
  });
});

describe("encrypted scenario data (storage form of smgate migrate on MariaDB)", () => {
  it("the policy compiles: name RND, phone FPE cn-mobile, on both encrypted tables", () => {
    const policy = compilePolicy(parsePolicy(mysqlEncPolicy(DB), "p.yaml"));
    for (const t of [TABLES.selectEnc, TABLES.insertEnc]) {
      const cols = policy.tablePolicy(`${DB}.${t}`)?.columns;
      expect(cols?.get("name")).toMatchObject({ protect: "encrypt", key: "bench" });
      expect(cols?.get("name")?.mode ?? "randomized").toBe("randomized");
      expect(cols?.get("phone")).toMatchObject({ protect: "fpe", format: "cn-mobile", key: "bench" });
    }
    expect(policy.tablePolicy(`${DB}.${TABLES.selectPlain}`)).toBeUndefined();
  });

  it("loads plaintext and encrypted rows; stored values are envelopes / FPE and decrypt to the plaintext", async () => {
    await loadPlainRows(SERVER, DB, 2000);
    await loadEncryptedRows(SERVER, DB, KS, 2000, () => undefined, 700);
    const ep = { ...SERVER, database: DB };
    const [counts] = await mysqlQuery<{ p: number; e: number; env: number; clear: number; maxLen: number }>(
      ep,
      `SELECT (SELECT COUNT(*) FROM ${TABLES.selectPlain}) AS p, COUNT(*) AS e, SUM(name LIKE 'smg1:%') AS env, ` +
        `SUM(phone = CONCAT('138', LPAD(id, 8, '0'))) AS clear, MAX(CHAR_LENGTH(name)) AS maxLen FROM ${TABLES.selectEnc}`,
    );
    expect(Number(counts.p)).toBe(2000);
    expect(Number(counts.e)).toBe(2000);
    expect(Number(counts.env)).toBe(2000);
    expect(Number(counts.clear)).toBeLessThanOrEqual(2);
    expect(Number(counts.maxLen)).toBeLessThanOrEqual(ENC_NAME_WIDTH);
    const plain = await mysqlQuery<{ id: number; name: string; phone: string }>(
      ep,
      `SELECT id, name, phone FROM ${TABLES.selectPlain} WHERE id IN (1, 777, 2000) ORDER BY id`,
    );
    const stored = await mysqlQuery<{ id: number; name: string; phone: string }>(
      ep,
      `SELECT id, name, phone FROM ${TABLES.selectEnc} WHERE id IN (1, 777, 2000) ORDER BY id`,
    );
    const codecs = await openCodecs(KS, DB, TABLES.selectEnc);
    try {
      const names = codecs.name.reveal(
        stored.map((r) => Buffer.from(r.name, "latin1")),
        "text",
      );
      const phones = codecs.phone.reveal(
        stored.map((r) => Buffer.from(r.phone, "utf8")),
        "text",
      );
      stored.forEach((r, i) => {
        expect(r.phone).toMatch(/^1[3-9]\d{9}$/); // FPE keeps the format
        expect(names[i]?.toString("utf8")).toBe(plain[i].name);
        expect(phones[i]?.toString("utf8")).toBe(plain[i].phone);
      });
      // randomized: the same plaintext encrypts differently each time
      const again = encryptedRows(codecs, 1, 1)[0];
      expect(again[1]).not.toBe(stored[0].name);
      expect(again[2]).toBe(stored[0].phone); // FPE is deterministic
    } finally {
      codecs.close();
    }
  });

  it("recognises the refusal of a build without MySQL encryption in smgate start, and nothing else", () => {
    const refusal =
      "smgate.yaml: the mysql listener has no encryption layer in this build, and the policy protects tables; remove the mysql section";
    expect(isMysqlEncryptionRefusal(`bench: smgate (at start) exited with 1: ${refusal}`)).toBe(true);
    expect(isMysqlEncryptionRefusal("bench: smgate (at start) exited with 1: listen EADDRINUSE")).toBe(false);
  });
});
