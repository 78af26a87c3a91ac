// Data of the encrypted MySQL scenarios: the policy (an RND column and an FPE column per table), the keystore
// the scenario creates and the gateway then uses, and the tables — plaintext ones loaded by the server itself,
// encrypted ones written offline in exactly the storage form `smgate migrate` leaves on MariaDB (docs/MIGRATE.md:
// RND as `smg1:` text in a widened VARCHAR, FPE in place), computed with the same ColumnCodec migrate uses.
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type mysql from "mysql2/promise";
import { initKeyStore, openKeyStore } from "../../keystore/index.js";
import { compilePolicy } from "../../policy/compile.js";
import { parsePolicy } from "../../policy/policy-loader.js";
import { neededTextWidth } from "../../policy/validate-db.js";
import { ColumnCodec } from "../../proxy/codec/column-codec.js";
import { type MysqlEndpoint, mysqlConnect, mysqlQuery } from "../drivers/mysql-client.js";
import type { BenchContext } from "../registry.js";

export const MYSQL_ENC_KEY = "bench";
/** Declared width of the plaintext `name` column; the encrypted one is widened like migrate does (3-byte chars). */
export const NAME_CHARS = 64;
export const ENC_NAME_WIDTH = neededTextWidth("randomized", NAME_CHARS, 3);

/** The two tables of each pair: what direct clients use, and what goes through the gateway. */
export const TABLES = {
  selectPlain: "bench_plain",
  selectEnc: "bench_enc",
  insertPlain: "bench_ins_plain",
  insertEnc: "bench_ins_enc",
} as const;

export function mysqlEncDatabase(ctx: BenchContext): string {
  return `${ctx.options.database}_mysqlenc`;
}

/** policy.yaml of the encrypted gateway: `name` randomized encryption, `phone` FPE (cn-mobile), in place; every
 * client (the bench's root) may read and write both in plaintext. */
export function mysqlEncPolicy(db: string): string {
  const table = (t: string) =>
    [
      `  ${db}.${t}:`,
      "    columns:",
      `      name: { protect: encrypt, key: ${MYSQL_ENC_KEY} }`,
      `      phone: { protect: fpe, format: cn-mobile, key: ${MYSQL_ENC_KEY} }`,
    ].join("\n");
  const access = [
    "access:",
    "  - name: bench",
    "    match: {}",
    `    plaintext: [${db}.${TABLES.selectEnc}.*, ${db}.${TABLES.insertEnc}.*]`,
  ].join("\n");
  return `version: 1\ntables:\n${table(TABLES.selectEnc)}\n${table(TABLES.insertEnc)}\n${access}\n`;
}

/** Plaintext of row `id` (the server-side loader computes the same with CONCAT/LPAD). */
export function plainRow(id: number): { name: string; phone: string; amount: number } {
  return { name: `patient name ${id}`, phone: `138${String(id).padStart(8, "0")}`, amount: id };
}

const PLAIN_ROW_SQL = "seq, CONCAT('patient name ', seq), CONCAT('138', LPAD(seq, 8, '0')), seq";

export interface MysqlEncKeystore {
  path: string;
  passphrase: string;
}

/** The keystore of the encrypted scenarios (one per run, in the run's temp folder), holding key "bench". */
export function ensureMysqlEncKeystore(ctx: BenchContext): Promise<MysqlEncKeystore> {
  return ctx.once("mysql-enc-keystore", async () => {
    const dir = join(ctx.tmpDir, "mysql-enc-keys");
    await mkdir(dir, { recursive: true });
    const ks = { path: join(dir, "keystore.json"), passphrase: randomBytes(24).toString("base64url") };
    await createKeystore(ks);
    return ks;
  });
}

export async function createKeystore(ks: MysqlEncKeystore): Promise<void> {
  const store = await initKeyStore(
    { provider: "file", path: ks.path, passphrase_env: "SMGATE_PASSPHRASE" },
    { env: { SMGATE_PASSPHRASE: ks.passphrase } },
  );
  try {
    store.createKey(MYSQL_ENC_KEY);
    store.save();
  } finally {
    store.close();
  }
}

/** The codecs of the encrypted table `db.table` with the keystore's keys (what migrate would use). */
export async function openCodecs(
  ks: MysqlEncKeystore,
  db: string,
  table: string,
): Promise<{ name: ColumnCodec; phone: ColumnCodec; close: () => void }> {
  const store = await openKeyStore(
    { provider: "file", path: ks.path, passphrase_env: "SMGATE_PASSPHRASE" },
    { env: { SMGATE_PASSPHRASE: ks.passphrase } },
  );
  const tp = compilePolicy(parsePolicy(mysqlEncPolicy(db), "bench-mysql-policy.yaml")).tablePolicy(`${db}.${table}`);
  const name = tp?.columns.get("name");
  const phone = tp?.columns.get("phone");
  if (!name || !phone) throw new Error(`bench: the MySQL bench policy has no protections for ${db}.${table}`);
  const ring = store.keyRing();
  return { name: new ColumnCodec(name, ring), phone: new ColumnCodec(phone, ring), close: () => store.close() };
}

/** Rows id from..from+count-1 in storage form: [id, name envelope text, phone FPE, amount]. */
export function encryptedRows(
  codecs: { name: ColumnCodec; phone: ColumnCodec },
  from: number,
  count: number,
): [number, string, string, number][] {
  const names: Buffer[] = [];
  const phones: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const p = plainRow(from + i);
    names.push(Buffer.from(p.name, "utf8"));
    phones.push(Buffer.from(p.phone, "utf8"));
  }
  const encNames = codecs.name.protect(names, "text");
  const encPhones = codecs.phone.protect(phones, "text");
  const out: [number, string, string, number][] = new Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = [
      from + i,
      (encNames[i] as Buffer).toString("latin1"),
      (encPhones[i] as Buffer).toString("utf8"),
      from + i,
    ];
  }
  return out;
}

/**
 * Engine of the insert tables: MyISAM, so the insert figure measures the gateway rather than the disk — with
 * InnoDB every autocommit INSERT waits for a redo-log flush (innodb_flush_log_at_trx_commit = 1 here: about
 * 1,000 commits/s on this machine, direct or not). The PostgreSQL scenario uses an UNLOGGED table likewise.
 */
export const INSERT_ENGINE = "MyISAM";

/** CREATE TABLE statements of one pair: plaintext shape and migrate's encrypted shape. */
export function tableDdl(table: string, encrypted: boolean, engine = "InnoDB"): string {
  const nameType = encrypted ? `VARCHAR(${ENC_NAME_WIDTH})` : `VARCHAR(${NAME_CHARS})`;
  return (
    `CREATE TABLE \`${table}\` (id INT PRIMARY KEY, name ${nameType} NOT NULL, phone VARCHAR(11) NOT NULL, ` +
    `amount INT NOT NULL) ENGINE=${engine} DEFAULT CHARSET=utf8mb4`
  );
}

/** (Re)creates the database with the four tables (empty). */
export async function createMysqlEncTables(server: MysqlEndpoint, db: string): Promise<void> {
  await mysqlQuery(
    server,
    `DROP DATABASE IF EXISTS \`${db}\``,
    `CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`,
    `USE \`${db}\``,
    tableDdl(TABLES.selectPlain, false),
    tableDdl(TABLES.selectEnc, true),
    tableDdl(TABLES.insertPlain, false, INSERT_ENGINE),
    tableDdl(TABLES.insertEnc, true, INSERT_ENGINE),
  );
}

/** Loads `rows` plaintext rows into bench_plain on the server (MariaDB's sequence engine). */
export async function loadPlainRows(server: MysqlEndpoint, db: string, rows: number): Promise<void> {
  await mysqlQuery(
    { ...server, database: db },
    `INSERT INTO \`${TABLES.selectPlain}\` SELECT ${PLAIN_ROW_SQL} FROM seq_1_to_${rows}`,
  );
}

/**
 * Encrypts `rows` rows offline and writes them to bench_enc in batches (multi-row INSERTs), encrypting the next
 * batch while the previous one is written. Returns the seconds spent.
 */
export async function loadEncryptedRows(
  server: MysqlEndpoint,
  db: string,
  ks: MysqlEncKeystore,
  rows: number,
  log: (m: string) => void,
  batch = 5000,
): Promise<number> {
  const t0 = Date.now();
  const codecs = await openCodecs(ks, db, TABLES.selectEnc);
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysqlConnect({ ...server, database: db });
    const c = conn;
    let writing: Promise<unknown> = Promise.resolve();
    let lastLog = Date.now();
    for (let from = 1; from <= rows; from += batch) {
      const chunk = encryptedRows(codecs, from, Math.min(batch, rows - from + 1));
      await writing;
      writing = c.query(`INSERT INTO \`${TABLES.selectEnc}\` (id, name, phone, amount) VALUES ?`, [chunk]);
      if (Date.now() - lastLog > 15_000) {
        log(`  encrypted ${from - 1 + chunk.length} of ${rows} rows`);
        lastLog = Date.now();
      }
    }
    await writing;
  } finally {
    codecs.close();
    await conn?.end().catch(() => undefined);
  }
  return (Date.now() - t0) / 1000;
}
