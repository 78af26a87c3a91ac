// `smgate plugin build|install|uninstall`: plugin mode (SPEC §9). install exports the policy's DEKs from the
// keystore into a key bundle sealed under a session token, installs the database functions and turns each
// protected table into <table>_enc + a view with the original name; uninstall reverses it.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import mysql from "mysql2/promise";
import pg from "pg";
import { openKeyStore } from "../keystore/open.js";
import type { KeystoreConfig } from "../keystore/types.js";
import { buildAndInstallMariadb, buildAndInstallPostgres } from "../plugins/installer/build.js";
import { exportPluginBundle, newSessionToken } from "../plugins/installer/bundle.js";
import { PluginError } from "../plugins/installer/errors.js";
import { pluginKeysFromKeyStore } from "../plugins/installer/keystore-export.js";
import { installMariadb, uninstallMariadb } from "../plugins/installer/mariadb-install.js";
import { installPostgres, uninstallPostgres } from "../plugins/installer/pg-install.js";
import { buildInstallPlan } from "../plugins/installer/plan.js";
import { loadConfig } from "../policy/config.js";
import { loadPolicy } from "../policy/policy-loader.js";

type Dialect = "postgres" | "mariadb";

function dialectOf(url: string): Dialect {
  if (/^postgres(ql)?:\/\//i.test(url)) return "postgres";
  if (/^(mysql|mariadb):\/\//i.test(url)) return "mariadb";
  throw new PluginError("DB", "--db must be a postgres://, postgresql://, mysql:// or mariadb:// URL");
}

function mysqlUrl(url: string): string {
  return url.replace(/^mariadb:/i, "mysql:");
}

function databaseOf(url: string): string {
  const db = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  if (!db) throw new PluginError("DB", "--db URL must name the database, e.g. mysql://root@127.0.0.1:3306/test");
  return db;
}

/** Token from --token-env / --token-file, else undefined. */
function readToken(opts: { tokenEnv?: string; tokenFile?: string }): string | undefined {
  if (opts.tokenEnv) {
    const v = process.env[opts.tokenEnv];
    if (!v) throw new PluginError("BAD_TOKEN", `environment variable ${opts.tokenEnv} is empty or unset`);
    return v.trim();
  }
  if (opts.tokenFile && existsSync(opts.tokenFile)) return readFileSync(opts.tokenFile, "utf8").trim();
  return undefined;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

interface InstallFlags {
  db: string;
  config: string;
  policy?: string;
  tokenEnv?: string;
  tokenFile?: string;
  allowRole: string[];
  table?: string[];
  data: "plaintext" | "encrypted";
  build?: boolean;
}

async function install(flags: InstallFlags): Promise<void> {
  const dialect = dialectOf(flags.db);
  const conf = loadConfig(flags.config);
  const policy = loadPolicy(flags.policy ?? conf.policy);
  const plan = buildInstallPlan(policy, flags.allowRole, flags.table);
  if (plan.tables.length === 0) throw new PluginError("BAD_POLICY", `${policy.file} protects no table`);
  const existing = readToken(flags);
  const token = existing ?? newSessionToken();
  const ks = await openKeyStore(conf.keystore as KeystoreConfig);
  let bundle: string;
  try {
    const keys = pluginKeysFromKeyStore(ks, plan.keyNames);
    bundle = exportPluginBundle(keys, token);
    for (const k of keys) k.dek.fill(0);
  } finally {
    ks.close();
  }
  if (dialect === "postgres") {
    if (flags.build) await buildAndInstallPostgres();
    const c = new pg.Client({ connectionString: flags.db });
    await c.connect();
    try {
      const report = await installPostgres(c, plan, bundle, token, { data: flags.data });
      for (const t of report.installed) say(`installed ${t}`);
      for (const t of report.skipped) say(`skipped ${t}`);
      for (const w of report.warnings) say(`warning: ${w}`);
      say(`role gate (smgate.allowed_roles): ${plan.allowedRoles.join(", ") || "(none: only superusers)"}`);
    } finally {
      await c.end();
    }
  } else {
    const c = await mysql.createConnection({ uri: mysqlUrl(flags.db), charset: "utf8mb4" });
    try {
      if (flags.build) {
        const [rows] = await c.query("SELECT @@plugin_dir AS d");
        await buildAndInstallMariadb((rows as { d: string }[])[0].d);
      }
      const report = await installMariadb(c, plan, bundle, token, { data: flags.data });
      for (const t of report.installed) say(`installed ${t}`);
      for (const t of report.skipped) say(`skipped ${t}`);
      for (const w of report.warnings) say(`warning: ${w}`);
    } finally {
      await c.end();
    }
  }
  if (!existing) {
    if (flags.tokenFile) {
      writeFileSync(flags.tokenFile, `${token}\n`, { mode: 0o600, flag: "wx" });
      say(`session token written to ${flags.tokenFile} (mode 0600); the database stores only the encrypted bundle`);
    } else {
      say("session token (shown once; give it to the application, it is not stored anywhere):");
      say(token);
    }
  }
  say(
    dialect === "postgres"
      ? "applications: connect with options '-c smgate.token=<token>' or run SELECT smgate.smgate_load_keys('<token>')"
      : "applications: run SET @smgate_token = '<token>' after connecting",
  );
}

interface UninstallFlags {
  db: string;
  tokenEnv?: string;
  tokenFile?: string;
  keepEncrypted?: boolean;
  keepExtension?: boolean;
  table?: string[];
}

async function uninstall(flags: UninstallFlags): Promise<void> {
  const token = readToken(flags);
  let done: string[];
  if (dialectOf(flags.db) === "postgres") {
    const c = new pg.Client({ connectionString: flags.db });
    await c.connect();
    try {
      done = await uninstallPostgres(c, token, {
        keepEncrypted: flags.keepEncrypted,
        keepExtension: flags.keepExtension,
        only: flags.table,
      });
    } finally {
      await c.end();
    }
  } else {
    const c = await mysql.createConnection({ uri: mysqlUrl(flags.db), charset: "utf8mb4" });
    try {
      done = await uninstallMariadb(c, databaseOf(flags.db), token, {
        keepEncrypted: flags.keepEncrypted,
        only: flags.table,
      });
    } finally {
      await c.end();
    }
  }
  for (const t of done) say(`uninstalled ${t}${flags.keepEncrypted ? " (values left encrypted)" : ""}`);
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerPluginCommands(program: Command): void {
  const plugin = program
    .command("plugin")
    .description("in-database mode: SM4/SM3/FPE functions inside PostgreSQL / MariaDB");
  plugin
    .command("build")
    .description("build the C plugins with make and install them into the local servers (PGXS; MariaDB plugin_dir)")
    .option("--postgres", "only the PostgreSQL extension")
    .option("--mariadb <url>", "also the MariaDB UDF library; the URL's server tells the plugin_dir")
    .action(async (o: { postgres?: boolean; mariadb?: string }) => {
      await buildAndInstallPostgres();
      say("built and installed plugins/postgres (smgate extension)");
      if (o.mariadb && !o.postgres) {
        const c = await mysql.createConnection({ uri: mysqlUrl(o.mariadb) });
        try {
          const [rows] = await c.query("SELECT @@plugin_dir AS d");
          await buildAndInstallMariadb((rows as { d: string }[])[0].d);
        } finally {
          await c.end();
        }
        say("built and installed plugins/mariadb (smgate_udf.so)");
      }
    });
  plugin
    .command("install")
    .description("install the functions and turn each protected table into <table>_enc + a decrypting view")
    .requiredOption("--db <url>", "database URL (postgres://… or mysql://…/database)")
    .requiredOption("-c, --config <file>", "smgate.yaml (its keystore, and its policy unless --policy)")
    .option("--policy <file>", "policy.yaml (default: the one smgate.yaml names)")
    .option("--token-env <var>", "reuse the session token in this environment variable")
    .option("--token-file <file>", "read the token from this file, or write a new one there (mode 0600)")
    .option(
      "--allow-role <role>",
      "database role allowed to use the keys (repeatable; policy users with plaintext are added)",
      collect,
      [],
    )
    .option("--table <schema.table>", "only this protected table (repeatable)", collect, undefined)
    .option(
      "--data <state>",
      "existing values: plaintext (encrypt them) or encrypted (already stored by smgate)",
      "plaintext",
    )
    .option("--build", "build and install the C plugin first (database server on this host)")
    .action(async (o: InstallFlags) => {
      if (o.data !== "plaintext" && o.data !== "encrypted")
        throw new PluginError("BAD_POLICY", "--data must be plaintext or encrypted");
      await install(o);
    });
  plugin
    .command("uninstall")
    .description("drop the views and triggers, decrypt the values back and restore the original tables")
    .requiredOption("--db <url>", "database URL")
    .option("--token-env <var>", "environment variable holding the session token (needed to decrypt back)")
    .option("--token-file <file>", "file holding the session token")
    .option("--keep-encrypted", "restore table names but leave values encrypted (e.g. to switch to the gateway)")
    .option("--keep-extension", "PostgreSQL: keep the extension and key bundle")
    .option("--table <schema.table>", "only this table (repeatable)", collect, undefined)
    .action(async (o: UninstallFlags) => uninstall(o));
}
