// Builds the C plugins with the system toolchain (make, gcc, PGXS, OpenSSL/ICU headers) and installs them
// into the local database servers' library folders. Used by `smgate plugin install --build` and by the tests.
import { execFile } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PluginError } from "./errors.js";

const run = promisify(execFile);

/** plugins/ folder of the source tree (works from the TypeScript sources and from dist/). */
export function pluginsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, "plugins", "common", "smgate_core.c"))) return join(dir, "plugins");
    if (existsSync(join(dir, "common", "smgate_core.c"))) return dir;
    dir = resolve(dir, "..");
  }
  throw new PluginError("BUILD", "cannot find the plugin sources (plugins/common/smgate_core.c)");
}

export interface ToolchainStatus {
  ok: boolean;
  /** What is missing, for a loud skip message. */
  missing: string[];
}

async function has(cmd: string, args: string[]): Promise<boolean> {
  try {
    await run(cmd, args, { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function pgDir(flag: string): Promise<string | undefined> {
  try {
    return (await run("pg_config", [flag], { timeout: 20_000 })).stdout.trim();
  } catch {
    return undefined;
  }
}

/**
 * Checks what `make` / `make install` need for each plugin; returns the missing parts by name. `pluginDir` is the
 * MariaDB server's plugin_dir (checked for write access when given).
 */
export async function toolchainStatus(target: "postgres" | "mariadb", pluginDir?: string): Promise<ToolchainStatus> {
  const missing: string[] = [];
  if (!(await has("make", ["--version"]))) missing.push("make");
  if (!(await has("cc", ["--version"]))) missing.push("a C compiler (cc)");
  if (!existsSync("/usr/include/openssl/evp.h")) missing.push("OpenSSL headers (libssl-dev)");
  if (!existsSync("/usr/include/unicode/unorm2.h")) missing.push("ICU headers (libicu-dev)");
  if (target === "postgres" && !(await has("pg_config", ["--pgxs"])))
    missing.push("pg_config/PGXS (postgresql-server-dev-15)");
  if (target === "mariadb" && !existsSync("/usr/include/mariadb/mysql.h"))
    missing.push("MariaDB headers (libmariadb-dev)");
  if (target === "postgres") {
    const lib = await pgDir("--pkglibdir");
    const share = await pgDir("--sharedir");
    if (lib && !writable(lib)) missing.push(`write access to ${lib} (make install; run as root)`);
    if (share && !writable(join(share, "extension")))
      missing.push(`write access to ${join(share, "extension")} (run as root)`);
  }
  if (target === "mariadb" && pluginDir && !writable(pluginDir))
    missing.push(`write access to ${pluginDir} (run as root)`);
  return { ok: missing.length === 0, missing };
}

/** Runs make under an exclusive lock (flock), so parallel test files never build or install at the same time. */
async function make(dir: string, args: string[]): Promise<void> {
  const lock = join(tmpdir(), "smgate-plugin-build.lock");
  const useFlock = await has("flock", ["--version"]);
  const [cmd, argv] = useFlock ? ["flock", [lock, "make", "-C", dir, ...args]] : ["make", ["-C", dir, ...args]];
  try {
    await run(cmd, argv as string[], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new PluginError(
      "BUILD",
      `make -C ${dir} ${args.join(" ")} failed: ${(err.stderr ?? err.message).slice(-2000)}`,
    );
  }
}

/** `make` + `make install` of the PostgreSQL extension (installs into pg_config's lib and share folders). */
export async function buildAndInstallPostgres(): Promise<void> {
  const dir = join(pluginsDir(), "postgres");
  await make(dir, []);
  await make(dir, ["install"]);
}

/** `make` of the MariaDB UDF library, then copy into the server's plugin_dir (from SELECT @@plugin_dir). */
export async function buildAndInstallMariadb(pluginDir: string): Promise<void> {
  const dir = join(pluginsDir(), "mariadb");
  await make(dir, []);
  await make(dir, ["install", `PLUGIN_DIR=${pluginDir}`]);
}
