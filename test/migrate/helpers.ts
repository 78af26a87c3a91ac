// Test helpers for the migrate suites: an env-provider keystore, the smgate CLI run as a subprocess from
// dist/, seeding of a plaintext "patients" table (GB 11643 valid resident IDs, CJK names, mixed NULLs), and
// reading every stored value back as raw bytes of its text form — the same form migrate and the gateway use.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import { initKeyStore, openKeyStore } from "../../keystore/open.js";
import type { KeystoreConfig } from "../../keystore/types.js";

export const ROOT = resolve(import.meta.dirname, "../..");
/** The CLI as built once for the whole run by test/global-setup.ts. */
export const CLI = join(ROOT, "dist/cli/main.js");

export function buildCli(): void {
  if (!existsSync(join(ROOT, "dist/cli/migrate.js")))
    throw new Error("dist/ is not built: test/global-setup.ts builds it");
}

export interface TestKeystore {
  dir: string;
  cfg: KeystoreConfig;
  env: NodeJS.ProcessEnv;
  flags: string[];
}

export async function makeKeystore(names: string[]): Promise<TestKeystore> {
  const dir = mkdtempSync(join(tmpdir(), "smg-migrate-"));
  const env = { ...process.env, SMG_MIGRATE_MASTER: randomBytes(16).toString("hex") };
  const cfg: KeystoreConfig = {
    provider: "env",
    path: join(dir, "keystore.json"),
    master_key_env: "SMG_MIGRATE_MASTER",
  };
  const ks = await initKeyStore(cfg, { env });
  for (const n of names) ks.createKey(n);
  ks.save();
  ks.close();
  return {
    dir,
    cfg,
    env,
    flags: ["--keystore", cfg.path, "--provider", "env", "--master-key-env", "SMG_MIGRATE_MASTER"],
  };
}

export async function keyRingOf(k: TestKeystore) {
  const ks = await openKeyStore(k.cfg, { env: k.env });
  const ring = ks.keyRing();
  return { ring, close: () => ks.close() };
}

export function writePolicy(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => res({ code, stdout, stderr }));
  });
}

export function startCli(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env, cwd: ROOT, stdio: "ignore" });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res(child.exitCode);
    else child.on("exit", (code) => res(code));
  });
}

/** GB 11643 check character of a 17-digit body. */
export function cnIdCheck(body: string): string {
  const W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let s = 0;
  for (let i = 0; i < 17; i++) s += Number(body[i]) * W[i];
  return "10X98765432"[s % 11];
}

export interface PatientRow {
  id: number;
  id_card: string | null;
  phone: string | null;
  diagnosis: string | null;
  name: string | null;
  birth: string | null;
  balance: string;
}

const SURNAMES = ["张", "王", "李", "赵", "Smith", "O'Brien", "刘"];
const DIAG = ["hypertension", "type 2 diabetes", "流行性感冒", "fracture; cast applied", 'asthma "mild"'];

/** Deterministic rows: every 7th has NULLs in the optional columns, phones repeat (DET equality). */
export function patientRows(n: number): PatientRow[] {
  const rows: PatientRow[] = [];
  for (let i = 1; i <= n; i++) {
    const nul = i % 7 === 0;
    const y = 1940 + (i % 70);
    const m = 1 + (i % 12);
    const d = 1 + (i % 28);
    const date = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
    const body = `110101${date.replace(/-/g, "")}${String(i % 1000).padStart(3, "0")}`;
    rows.push({
      id: i,
      id_card: nul ? null : body + cnIdCheck(body),
      phone: nul ? null : `13${String((i * 7919) % 1_000_000_000).padStart(9, "0")}`.slice(0, 11),
      diagnosis: nul ? null : `${DIAG[i % DIAG.length]} #${i}`,
      name: nul ? null : `${SURNAMES[i % SURNAMES.length]}${i % 500}`,
      birth: nul ? null : date,
      balance: `${(i * 37) % 100000}.${String(i % 100).padStart(2, "0")}`,
    });
  }
  return rows;
}

export const PATIENT_COLUMNS = ["id", "id_card", "phone", "diagnosis", "name", "birth", "balance"] as const;

export function policyText(schema: string, extra = ""): string {
  return `version: 1
tables:
  ${schema}.patients:
    row_key: [id]
    columns:
      id_card:   { protect: fpe, format: cn-id, key: patients }
      phone:     { protect: encrypt, mode: deterministic, key: patients }
      diagnosis: { protect: encrypt, key: patients }
      name:      { protect: encrypt, blind_index: true, key: patients }
      birth:     { protect: encrypt, type: date, key: patients }
      balance:   { protect: mac, type: numeric, key: patients }
  ${schema}.visits:
    columns:
      note: { protect: encrypt, key: patients }
${extra}access:
  - name: all
    match: {}
    plaintext: ["*.*.*"]
`;
}

// ---- raw readers: every value as the bytes of its text form (binary columns: stored bytes) ----

export type RawRow = (Buffer | null)[];

export class PgRaw {
  private constructor(readonly client: pg.Client) {}
  static async open(url: string): Promise<PgRaw> {
    const client = new pg.Client({
      connectionString: url,
      types: { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig,
    });
    await client.connect();
    await client.query("SET bytea_output = hex");
    return new PgRaw(client);
  }
  async rows(sql: string, params: unknown[] = []): Promise<RawRow[]> {
    const r = await this.client.query({ text: sql, values: params, rowMode: "array" });
    return (r.rows as (string | null)[][]).map((row) => row.map((v) => (v === null ? null : Buffer.from(v, "utf8"))));
  }
  async exec(sql: string, params: unknown[] = []): Promise<void> {
    await this.client.query(sql, params);
  }
  close(): Promise<void> {
    return this.client.end();
  }
}

export class MyRaw {
  private constructor(readonly conn: mysql.Connection) {}
  static async open(db: string): Promise<MyRaw> {
    const conn = await mysql.createConnection({
      host: "127.0.0.1",
      port: 3306,
      user: "root",
      database: db,
      charset: "utf8mb4",
      multipleStatements: true,
    });
    return new MyRaw(conn);
  }
  async rows(sql: string, params: unknown[] = []): Promise<RawRow[]> {
    const [r] = await this.conn.query({
      sql,
      values: params,
      rowsAsArray: true,
      typeCast: (f: { buffer(): Buffer | null }) => f.buffer(),
    } as mysql.QueryOptions);
    return r as RawRow[];
  }
  async exec(sql: string, params: unknown[] = []): Promise<void> {
    await this.conn.query(sql, params);
  }
  close(): Promise<void> {
    return this.conn.end();
  }
}

export const txt = (b: Buffer | null): string | null => (b === null ? null : b.toString("utf8"));
