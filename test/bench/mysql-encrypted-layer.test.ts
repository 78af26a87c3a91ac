// The encrypted MySQL scenarios' data and policy against the real MySQL encryption layer (mysqlEncryptionFromConfig
// + the MySQL gateway, in process, in front of the real MariaDB): rows encrypted offline by the bench read back
// as their plaintext through the gateway (mysql2 and the mariadb client the scenario uses), and prepared INSERTs
// from the scenario's insert load are stored encrypted — so the scenarios measure real work once `smgate start`
// runs the layer.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MYSQL, mysqlQuery } from "../../bench/drivers/mysql-client.js";
import { runInsertLoad } from "../../bench/drivers/mysql-insert.js";
import { mysqlStreamQuery } from "../../bench/drivers/mysql-stream.js";
import { runSysbench } from "../../bench/drivers/sysbench.js";
import { writeSysbenchInsertScript } from "../../bench/drivers/sysbench-insert.js";
import {
  createKeystore,
  createMysqlEncTables,
  loadEncryptedRows,
  mysqlEncPolicy,
  plainRow,
  TABLES,
} from "../../bench/scenarios/mysql-encrypted-data.js";
import { loadConfig } from "../../policy/config.js";
import { type ConfiguredMysqlEncryption, mysqlEncryptionFromConfig } from "../../proxy/mysql/encrypt/from-config.js";
import { type MysqlGateway, startMysqlGateway } from "../../proxy/mysql/index.js";

const DB = `smg_bench_t_myenc_${randomBytes(4).toString("hex")}`;
const SERVER = { ...DEFAULT_MYSQL };
const ROWS = 3000;
const dir = mkdtempSync(join(tmpdir(), "smg-bench-myenc-"));
const KS = { path: join(dir, "keystore.json"), passphrase: randomBytes(18).toString("base64url") };
let enc: ConfiguredMysqlEncryption | undefined;
let gw: MysqlGateway;
let gwEp: { host: string; port: number; user: string; database: string };

beforeAll(async () => {
  await createMysqlEncTables(SERVER, DB);
  await createKeystore(KS);
  await loadEncryptedRows(SERVER, DB, KS, ROWS, () => undefined, 1000);
  writeFileSync(join(dir, "policy.yaml"), mysqlEncPolicy(DB));
  writeFileSync(
    join(dir, "smgate.yaml"),
    `mysql: { listen: 127.0.0.1:0, backend: 127.0.0.1:3306 }
keystore: { provider: file, path: ./keystore.json, passphrase_env: SMGATE_PASSPHRASE }
policy: ./policy.yaml
`,
  );
  process.env.SMGATE_PASSPHRASE = KS.passphrase;
  const logger = pino({ level: "silent" });
  enc = await mysqlEncryptionFromConfig(loadConfig(join(dir, "smgate.yaml")), { logger });
  if (!enc) throw new Error("the bench policy did not install the encryption layer");
  gw = await startMysqlGateway({ listen: "127.0.0.1:0", backend: "127.0.0.1:3306", hooks: enc.hooks, logger });
  gwEp = { host: "127.0.0.1", port: gw.address().port, user: SERVER.user, database: DB };
});

afterAll(async () => {
  await gw?.close();
  enc?.close();
  await mysqlQuery(SERVER, `DROP DATABASE IF EXISTS ${DB}`);
  rmSync(dir, { recursive: true, force: true });
});

describe("bench data through the MySQL encryption layer", () => {
  it("offline-encrypted rows read back as their plaintext (mysql2 text protocol)", async () => {
    const rows = await mysqlQuery<{ id: number; name: string; phone: string; amount: number }>(
      gwEp,
      `SELECT id, name, phone, amount FROM ${TABLES.selectEnc} WHERE id IN (1, 1500, ${ROWS}) ORDER BY id`,
    );
    expect(rows.map((r) => Number(r.id))).toEqual([1, 1500, ROWS]);
    for (const r of rows) {
      const want = plainRow(Number(r.id));
      expect({ name: r.name, phone: r.phone, amount: Number(r.amount) }).toEqual(want);
    }
    const stored = await mysqlQuery<{ name: string }>(
      { ...SERVER, database: DB },
      `SELECT name FROM ${TABLES.selectEnc} WHERE id = 1`,
    );
    expect(stored[0].name).toMatch(/^smg1:/);
  });

  it("the scenario's reader (mariadb --quick) gets every row through the gateway", async () => {
    const r = await mysqlStreamQuery(gwEp, `SELECT id, name, phone, amount FROM ${TABLES.selectEnc}`);
    expect(r.rows).toBe(ROWS);
  });

  it("the scenario's insert load (prepared INSERTs) is stored encrypted and reads back", async () => {
    const res = await runInsertLoad({
      endpoint: gwEp,
      clients: 2,
      durationSec: 1,
      sql: `INSERT INTO ${TABLES.insertEnc} (id, name, phone, amount) VALUES (?, ?, ?, ?)`,
      row: (id) => {
        const p = plainRow(id);
        return [id, p.name, p.phone, p.amount];
      },
      firstId: 1,
    });
    expect(res.failed, res.firstError).toBe(0);
    expect(res.rows).toBeGreaterThan(0);
    const [s] = await mysqlQuery<{ n: number; envelopes: number; clear: number }>(
      { ...SERVER, database: DB },
      `SELECT COUNT(*) AS n, SUM(name LIKE 'smg1:%') AS envelopes, SUM(phone = CONCAT('138', LPAD(id, 8, '0'))) AS clear FROM ${TABLES.insertEnc}`,
    );
    expect(Number(s.n)).toBe(res.rows);
    expect(Number(s.envelopes)).toBe(res.rows);
    expect(Number(s.clear)).toBeLessThanOrEqual(1);
    const back = await mysqlQuery<{ name: string; phone: string }>(
      gwEp,
      `SELECT name, phone FROM ${TABLES.insertEnc} WHERE id = 1`,
    );
    expect(back[0]).toEqual({ name: plainRow(1).name, phone: plainRow(1).phone });
  });

  it("the scenario's sysbench insert script (libmysqlclient prepared INSERTs) is stored encrypted", async () => {
    await mysqlQuery({ ...SERVER, database: DB }, `TRUNCATE TABLE ${TABLES.insertEnc}`);
    const script = await writeSysbenchInsertScript(dir);
    const run = await runSysbench({
      ...gwEp,
      workload: script,
      threads: 2,
      durationSec: 2,
      extraArgs: [`--table=${TABLES.insertEnc}`],
    });
    expect(run.summary.ignoredErrors).toBe(0);
    expect(run.summary.transactions).toBeGreaterThan(0);
    const [s] = await mysqlQuery<{ n: number; envelopes: number; clear: number }>(
      { ...SERVER, database: DB },
      `SELECT COUNT(*) AS n, SUM(name LIKE 'smg1:%') AS envelopes, SUM(phone = CONCAT('138', LPAD(id, 8, '0'))) AS clear FROM ${TABLES.insertEnc}`,
    );
    expect(Number(s.n)).toBe(run.summary.transactions);
    expect(Number(s.envelopes)).toBe(run.summary.transactions);
    expect(Number(s.clear)).toBeLessThanOrEqual(1);
    const back = await mysqlQuery<{ name: string; phone: string }>(
      gwEp,
      `SELECT name, phone FROM ${TABLES.insertEnc} WHERE id = 2`,
    );
    expect(back[0]).toEqual({ name: plainRow(2).name, phone: plainRow(2).phone });
  });
});
