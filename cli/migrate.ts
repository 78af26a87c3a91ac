// `smgate migrate`: brings an existing database under the policy in place (encrypt), moves data to the active
// keys (--rekey) or back to plaintext (--decrypt), resumably, with a progress bar on a TTY. The engine is
// migrate/; this module parses flags, opens the keystore, policy, database and audit log, and reports.
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { resolve } from "node:path";
import { SingleBar } from "cli-progress";
import { type Command, Option } from "commander";
import { auditKeyFrom } from "../audit/chain.js";
import { AuditWriter } from "../audit/writer.js";
import { sm3 } from "../crypto/sm3.js";
import { openKeyStore } from "../keystore/open.js";
import { askHidden, isInteractive } from "../keystore/tty-prompt.js";
import type { KeystoreConfig } from "../keystore/types.js";
import { MigrateError } from "../migrate/errors.js";
import { openMigrateDb } from "../migrate/open.js";
import { runMigration, type TableOutcome } from "../migrate/run.js";
import { compilePolicy } from "../policy/compile.js";
import { loadConfig } from "../policy/config.js";
import { loadPolicy } from "../policy/policy-loader.js";

interface MigrateFlags {
  db: string;
  policy?: string;
  config?: string;
  keystore?: string;
  provider?: "file" | "env";
  passphraseEnv?: string;
  masterKeyEnv?: string;
  dryRun?: boolean;
  batch: string;
  rekey?: boolean;
  decrypt?: boolean;
  table?: string;
  progress?: boolean;
}

interface Setup {
  keystore: KeystoreConfig;
  policyPath: string;
  auditPath?: string;
}

function resolveSetup(f: MigrateFlags): Setup {
  if (f.config) {
    if (f.keystore || f.provider) throw new MigrateError("give either --config or --keystore/--provider, not both");
    const conf = loadConfig(f.config);
    return {
      keystore: conf.keystore as KeystoreConfig,
      policyPath: f.policy ? resolve(f.policy) : conf.policy,
      auditPath: conf.audit?.path,
    };
  }
  if (!f.keystore)
    throw new MigrateError("say which keystore: --config smgate.yaml, or --keystore FILE with --provider");
  if (!f.policy) throw new MigrateError("--policy policy.yaml is required without --config");
  const provider = f.provider ?? "file";
  const keystore: KeystoreConfig = { provider, path: resolve(f.keystore) };
  if (provider === "file") keystore.passphrase_env = f.passphraseEnv;
  else {
    if (!f.masterKeyEnv) throw new MigrateError("--provider env needs --master-key-env VAR");
    keystore.master_key_env = f.masterKeyEnv;
  }
  return { keystore, policyPath: resolve(f.policy) };
}

function parseBatch(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 50_000)
    throw new MigrateError("--batch must be an integer from 1 to 50000");
  return Number(v);
}

function summary(o: TableOutcome, op: string): string {
  if (o.status === "skipped" || o.status === "up-to-date") return `${o.table}: ${o.status} (${o.reason})`;
  if (o.status === "planned") return `${o.table}: dry run: ${o.rows} rows, ${o.ddl.length} DDL statements`;
  const c = o.counts;
  const verb = op === "decrypt" ? "decrypted" : op === "rekey" ? "re-encrypted" : "encrypted";
  return (
    `${o.table}: done (run ${o.runId}): ${o.rows} rows visited, ${c.transformed} values ${verb}, ` +
    `${c.alreadyDone} already in target form, ${c.companions} companion values written, ${o.ddl.length} DDL statements`
  );
}

export async function migrateCommand(f: MigrateFlags): Promise<void> {
  if (f.rekey && f.decrypt) throw new MigrateError("--rekey and --decrypt are exclusive");
  const op = f.decrypt ? "decrypt" : f.rekey ? "rekey" : "encrypt";
  const batch = parseBatch(f.batch);
  const setup = resolveSetup(f);
  const policyBytes = readFileSync(setup.policyPath);
  const policy = compilePolicy(loadPolicy(setup.policyPath));
  const ks = await openKeyStore(setup.keystore, isInteractive() ? { askPassphrase: askHidden } : {});
  const audit = setup.auditPath && !f.dryRun ? new AuditWriter(setup.auditPath, auditKeyFrom(ks.keyRing())) : undefined;
  const actor = `cli:${userInfo().username}`;
  const showBar = f.progress !== false && process.stderr.isTTY === true;
  let bar: SingleBar | undefined;
  let started = 0;
  let startDone = 0;
  const db = await openMigrateDb(f.db);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const outcomes = await runMigration({
      db,
      policy,
      policyDigest: sm3(policyBytes).toString("hex"),
      keyRing: ks.keyRing(),
      op,
      dryRun: f.dryRun === true,
      batch,
      table: f.table,
      log: out,
      onStart: (table, total, done) => {
        started = Date.now();
        startDone = done;
        if (!showBar) return;
        bar = new SingleBar({
          format: `${table} {bar} {percentage}% | {value}/{total} rows | {speed} rows/s | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
          etaBuffer: 20,
        });
        bar.start(total, done, { speed: "0" });
      },
      onBatch: (_table, done) => {
        const secs = (Date.now() - started) / 1000;
        const speed = secs > 0 ? Math.round((done - startDone) / secs) : 0;
        if (bar) {
          if (done > bar.getTotal()) bar.setTotal(done);
          bar.update(done, { speed: String(speed) });
        }
      },
      onEnd: () => {
        bar?.stop();
        bar = undefined;
      },
    });
    for (const o of outcomes) {
      out(summary(o, op));
      if (o.status === "migrated") {
        audit?.record({
          type: op === "rekey" ? "key_operation" : "admin_action",
          actor,
          target: o.table,
          action: `migrate ${op}`,
          outcome: "ok",
          detail: `run ${o.runId}: ${o.rows} rows, ${o.counts.transformed} values, ${o.ddl.length} DDL`,
        });
      }
    }
  } catch (err) {
    bar?.stop();
    audit?.record({
      type: op === "rekey" ? "key_operation" : "admin_action",
      actor,
      target: f.table ?? "policy tables",
      action: `migrate ${op}`,
      outcome: "failed",
      detail: (err as Error).message.slice(0, 500),
    });
    throw err;
  } finally {
    audit?.close();
    await db.close().catch(() => undefined);
    ks.close();
  }
}

export function registerMigrateCommand(program: Command): void {
  program
    .command("migrate")
    .description(
      "bring an existing database under the policy in place (encrypt, add companion columns), resumably; --rekey moves data to the active keys, --decrypt reverses",
    )
    .requiredOption("--db <url>", "postgres://user@host:5432/db or mysql://user@host:3306/db")
    .option("--policy <file>", "policy.yaml (default: the policy named by --config)")
    .option("-c, --config <file>", "smgate.yaml: keystore, policy and audit log")
    .option("--keystore <file>", "keystore file, when not using --config")
    .addOption(new Option("--provider <kind>", "master-key provider, when not using --config").choices(["file", "env"]))
    .option("--passphrase-env <var>", "file provider: environment variable holding the passphrase")
    .option("--master-key-env <var>", "env provider: environment variable holding the master key")
    .option("--dry-run", "print the DDL and row counts; change nothing")
    .option("--batch <n>", "rows per batch transaction", "1000")
    .option("--rekey", "re-encrypt values whose key is not the active key (after smgate keys rotate)")
    .option("--decrypt", "reverse the migration: values back to plaintext, original types, companion columns dropped")
    .option("--table <schema.table>", "only this table of the policy")
    .option("--no-progress", "no progress bar even on a terminal")
    .addHelpText(
      "after",
      "\nProgress is kept in the table smgate_migration of the same database: an interrupted run resumes where it\n" +
        "stopped, a finished one is not repeated. See docs/MIGRATE.md.",
    )
    .action(async (flags: MigrateFlags) => {
      await migrateCommand(flags);
    });
}
