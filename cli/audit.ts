// `smgate audit verify|tail|query`: check the HMAC-SM3 chain of the audit log and read its records. The
// audit key comes from the keystore named by --config; the log path from the config's `audit.path`.
import { type Command, Option } from "commander";
import { auditKeyFrom } from "../audit/chain.js";
import { queryAuditLog } from "../audit/query.js";
import type { AuditEventType, AuditRecord } from "../audit/record.js";
import { verifyAuditLog } from "../audit/verify.js";
import { openKeyStore } from "../keystore/open.js";
import { askHidden, isInteractive } from "../keystore/tty-prompt.js";
import type { KeystoreConfig } from "../keystore/types.js";
import { loadConfig } from "../policy/config.js";

const TYPES: AuditEventType[] = [
  "login",
  "login_failed",
  "denial",
  "refusal",
  "integrity_failure",
  "policy_change",
  "policy_reload_failed",
  "key_operation",
  "admin_action",
  "config_change",
  "startup",
  "shutdown",
];

function logPath(configPath: string, file?: string): string {
  if (file) return file;
  const cfg = loadConfig(configPath);
  if (!cfg.audit?.path) throw new Error(`${configPath}: no audit.path configured; pass --file`);
  return cfg.audit.path;
}

function formatRecord(r: AuditRecord): string {
  const who = [r.actor, r.app, r.address].filter(Boolean).join(" ");
  const what = [r.action, r.target].filter(Boolean).join(" ");
  return `${r.seq}\t${r.ts}\t${r.type}\t${r.outcome ?? ""}\t${who}\t${what}${r.detail ? `\t${r.detail}` : ""}`;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command("audit").description("verify and read the tamper-evident audit log");

  audit
    .command("verify")
    .description("check the HMAC-SM3 chain; report the first edited, deleted, inserted or reordered record")
    .requiredOption("-c, --config <file>", "smgate.yaml (keystore holding the audit key, audit.path)")
    .option("--file <path>", "audit log to verify (default: audit.path of the config)")
    .action(async (opts: { config: string; file?: string }) => {
      const cfg = loadConfig(opts.config);
      const path = logPath(opts.config, opts.file);
      const ks = await openKeyStore(
        cfg.keystore as KeystoreConfig,
        isInteractive() ? { askPassphrase: askHidden } : {},
      );
      try {
        const res = verifyAuditLog(path, auditKeyFrom(ks.keyRing()));
        if (res.ok) {
          process.stdout.write(`${path}: OK, ${res.records} records, chain intact\n`);
          return;
        }
        const b = res.broken!;
        process.stdout.write(
          `${path}:${b.line}: BROKEN${b.seq !== undefined ? ` at seq ${b.seq}` : ""}: ${b.reason} (${res.records} records verified before it)\n`,
        );
        process.exitCode = 1;
      } finally {
        ks.close();
      }
    });

  const addFilters = (cmd: Command) =>
    cmd
      .requiredOption("-c, --config <file>", "smgate.yaml (audit.path)")
      .option("--file <path>", "audit log (default: audit.path of the config)")
      .addOption(new Option("--type <type...>", "only these record types").choices(TYPES))
      .option("--actor <name>", "only records of this actor")
      .option("--target <prefix>", "only records whose target starts with this (schema.table, key name …)")
      .option("--since <iso-time>", "only records at or after this time")
      .option("--until <iso-time>", "only records at or before this time")
      .option("--json", "print JSON lines instead of a table");

  const run = (opts: Record<string, string | string[] | boolean | undefined>, limit?: number) => {
    const path = logPath(opts.config as string, opts.file as string | undefined);
    const when = (v: unknown, what: string) => {
      if (v === undefined) return undefined;
      const d = new Date(String(v));
      if (Number.isNaN(d.getTime())) throw new Error(`${what} is not a valid time: ${String(v)}`);
      return d;
    };
    const recs = queryAuditLog(path, {
      type: opts.type as AuditEventType[] | undefined,
      actor: opts.actor as string | undefined,
      target: opts.target as string | undefined,
      since: when(opts.since, "--since"),
      until: when(opts.until, "--until"),
      limit,
    });
    for (const r of recs) process.stdout.write(`${opts.json ? JSON.stringify(r) : formatRecord(r)}\n`);
  };

  addFilters(audit.command("tail").description("print the newest records"))
    .option("-n, --lines <n>", "how many records", "20")
    .action((opts) => run(opts, Math.max(1, Number.parseInt(String(opts.lines), 10) || 20)));

  addFilters(audit.command("query").description("print the records matching the filters")).action((opts) => run(opts));
}
