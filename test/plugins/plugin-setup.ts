// Test setup for the plugin suites: builds + installs the C plugins (skipping loudly only when the build
// toolchain is missing), creates throw-away databases with the smg_plugins_ prefix, and makes key sets.
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import pg from "pg";
import { type DataKey, deriveDataKey } from "../../crypto/index.js";
import { buildAndInstallMariadb, buildAndInstallPostgres, toolchainStatus } from "../../plugins/installer/build.js";
import type { PluginKey } from "../../plugins/installer/bundle.js";

export const PG_ADMIN = { host: "127.0.0.1", port: 5432, user: "postgres", database: "postgres" };
export const MARIADB_ADMIN = { host: "127.0.0.1", port: 3306, user: "root", password: "" };

export function uniqueName(prefix = "smg_plugins"): string {
  return `${prefix}_${randomBytes(5).toString("hex")}`;
}

/** Ensures the PostgreSQL extension is built and installed; returns a skip reason when the toolchain is absent. */
export async function preparePostgresPlugin(): Promise<string | undefined> {
  const tc = await toolchainStatus("postgres");
  if (!tc.ok) {
    const msg = `PLUGIN TESTS SKIPPED: cannot build plugins/postgres, missing ${tc.missing.join(", ")}`;
    console.error(`\n*** ${msg} ***\n`);
    return msg;
  }
  await buildAndInstallPostgres();
  return undefined;
}

export async function prepareMariadbPlugin(): Promise<string | undefined> {
  const c = await mysql.createConnection(MARIADB_ADMIN);
  try {
    const [rows] = await c.query("SELECT @@plugin_dir AS d");
    const pluginDir = (rows as { d: string }[])[0].d;
    const tc = await toolchainStatus("mariadb", pluginDir);
    if (!tc.ok) {
      const msg = `PLUGIN TESTS SKIPPED: cannot build plugins/mariadb, missing ${tc.missing.join(", ")}`;
      console.error(`\n*** ${msg} ***\n`);
      return msg;
    }
    await buildAndInstallMariadb(pluginDir);
  } finally {
    await c.end();
  }
  return undefined;
}

export async function createPgDatabase(): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = uniqueName();
  const admin = new pg.Client(PG_ADMIN);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    name,
    drop: async () => {
      const a = new pg.Client(PG_ADMIN);
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export interface TestKeys {
  /** Bundle entries (clear DEKs). */
  entries: PluginKey[];
  /** DataKeys of the TypeScript crypto core for the same DEKs, by key id. */
  byId: Map<number, DataKey>;
  /** Active DataKey by name. */
  active: (name: string) => DataKey;
}

/** Key set: "patients" (active + one decrypt-only older version) and "orders" (active). */
export function makeTestKeys(): TestKeys {
  const ids = new Set<number>();
  const id = (): number => {
    for (;;) {
      const v = randomBytes(4).readUInt32BE(0);
      if (v !== 0 && !ids.has(v)) {
        ids.add(v);
        return v;
      }
    }
  };
  const entries: PluginKey[] = [
    { keyId: id(), name: "patients", state: "decrypt-only", dek: randomBytes(16) },
    { keyId: id(), name: "patients", state: "active", dek: randomBytes(16) },
    { keyId: id(), name: "orders", state: "active", dek: randomBytes(16) },
  ];
  const byId = new Map(entries.map((e) => [e.keyId, deriveDataKey(e.keyId, Buffer.from(e.dek))]));
  return {
    entries,
    byId,
    active: (name) => {
      const e = entries.find((x) => x.name === name && x.state === "active");
      if (!e) throw new Error(`no active test key ${name}`);
      return byId.get(e.keyId) as DataKey;
    },
  };
}

/** Random text values: ASCII, CJK, combining sequences (NFD), emoji, empty and long. */
export function randomTexts(n: number): string[] {
  const pool = [
    "a",
    "Z",
    "0",
    " ",
    "张",
    "三",
    "北京",
    "é",
    "e\u0301",
    "Å",
    "A\u030a",
    "😀",
    "\u00a0",
    "'",
    '"',
    "\\",
    "%",
  ];
  const out: string[] = ["", "x", "x".repeat(5000)];
  while (out.length < n) {
    const len = randomBytes(1)[0] % 40;
    let s = "";
    for (let i = 0; i < len; i++) s += pool[randomBytes(1)[0] % pool.length];
    out.push(s);
  }
  return out;
}
