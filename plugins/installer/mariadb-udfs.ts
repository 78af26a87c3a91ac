// Registers the smgate UDFs in a MariaDB server (CREATE FUNCTION … SONAME 'smgate_udf.so'). UDFs are global to
// the server; when the loaded library's build id differs from the sources on disk, all are dropped and
// re-created so the server dlopens the new library. Serialised across clients with GET_LOCK.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Connection } from "mysql2/promise";
import { pluginsDir } from "./build.js";
import { PluginError } from "./errors.js";

export const MARIADB_SONAME = "smgate_udf.so";

/** Every UDF of the library with its SQL return type. */
export const MARIADB_UDFS: ReadonlyArray<readonly [name: string, returns: "STRING" | "INTEGER"]> = [
  ["smgate_version", "STRING"],
  ["smgate_self_test", "STRING"],
  ["smgate_encrypt", "STRING"],
  ["smgate_encrypt_det", "STRING"],
  ["smgate_decrypt", "STRING"],
  ["smgate_blind_index", "STRING"],
  ["smgate_row_key", "STRING"],
  ["smgate_mac", "STRING"],
  ["smgate_mac_verify", "INTEGER"],
  ["smgate_fpe_encrypt", "STRING"],
  ["smgate_fpe_decrypt", "STRING"],
  ["smgate_integrity_error", "STRING"],
];

/** The build id the Makefile embeds: sha256 over the sorted ../common/*.{c,h}, then the sorted ./*.{c,h}. */
export function expectedBuildId(): string {
  const dir = pluginsDir();
  const sources = (sub: string) =>
    readdirSync(join(dir, sub))
      .filter((f) => /\.[ch]$/.test(f))
      .map((f) => (sub === "common" ? `../common/${f}` : f))
      .sort();
  const h = createHash("sha256");
  for (const f of [...sources("common"), ...sources("mariadb")]) h.update(readFileSync(join(dir, "mariadb", f)));
  return h.digest("hex").slice(0, 16);
}

async function loadedVersion(conn: Connection): Promise<string | undefined> {
  try {
    const [rows] = await conn.query("SELECT smgate_version() AS v");
    const v = (rows as { v: Buffer | string }[])[0].v;
    return Buffer.isBuffer(v) ? v.toString("utf8") : v;
  } catch {
    return undefined;
  }
}

async function exportedFunctions(conn: Connection): Promise<Set<string>> {
  const [rows] = await conn.query("SELECT name FROM mysql.func WHERE dl = ?", [MARIADB_SONAME]);
  return new Set((rows as { name: string }[]).map((r) => r.name));
}

/**
 * Makes sure every UDF exists and comes from the current build. `buildId` undefined skips the freshness check
 * (when the library was installed by other means than this source tree).
 */
export async function installMariadbUdfs(
  conn: Connection,
  buildId: string | undefined = expectedBuildId(),
): Promise<void> {
  const [lock] = await conn.query("SELECT GET_LOCK('smgate_udf_install', 60) AS l");
  if ((lock as { l: number }[])[0].l !== 1)
    throw new PluginError("DB", "timed out waiting for another smgate UDF installation");
  try {
    const have = await exportedFunctions(conn);
    const version = have.has("smgate_version") ? await loadedVersion(conn) : undefined;
    const stale = buildId !== undefined && version !== undefined && version !== `smgate-udf ${buildId}`;
    if (stale || (have.size > 0 && have.size < MARIADB_UDFS.length)) {
      for (const name of have) await conn.query(`DROP FUNCTION IF EXISTS ${name}`);
      have.clear();
    }
    for (const [name, returns] of MARIADB_UDFS) {
      if (have.has(name)) continue;
      try {
        await conn.query(`CREATE FUNCTION IF NOT EXISTS ${name} RETURNS ${returns} SONAME '${MARIADB_SONAME}'`);
      } catch (e) {
        throw new PluginError("DB", `cannot create UDF ${name} from ${MARIADB_SONAME}: ${(e as Error).message}`);
      }
    }
  } finally {
    await conn.query("SELECT RELEASE_LOCK('smgate_udf_install')");
  }
}

/** Drops every smgate UDF (uninstall). */
export async function uninstallMariadbUdfs(conn: Connection): Promise<void> {
  for (const [name] of MARIADB_UDFS) await conn.query(`DROP FUNCTION IF EXISTS ${name}`);
}
