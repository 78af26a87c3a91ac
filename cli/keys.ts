// `smgate keys …`: create, list, rotate, back up, restore and destroy keys of the keystore (master → KEK →
// DEK). The keystore comes from `--config smgate.yaml` or from the --keystore/--provider/… flags.
import { existsSync, readFileSync, unlinkSync } from "node:fs";
import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { AUDIT_KEY_NAME } from "../audit/chain.js";
import { writeFileAtomic } from "../keystore/atomic-write.js";
import type { BackupRecipient, BackupUnlock } from "../keystore/backup.js";
import { KeystoreError } from "../keystore/errors.js";
import type { KeyStore } from "../keystore/keystore.js";
import { initKeyStore, type OpenOptions, openKeyStore } from "../keystore/open.js";
import { askHidden, askLine, askNewPassphrase, isInteractive } from "../keystore/tty-prompt.js";
import type { KeyInfo, KeystoreConfig } from "../keystore/types.js";
import { compilePolicy } from "../policy/compile.js";
import { loadConfig } from "../policy/config.js";
import { loadPolicy } from "../policy/policy-loader.js";
import { readSm2PrivateKey, readSm2PublicKey } from "../policy/signature.js";

interface KeystoreFlags {
  config?: string;
  keystore?: string;
  provider?: "file" | "env" | "pkcs11";
  passphraseEnv?: string;
  masterKeyEnv?: string;
  pkcs11Module?: string;
  tokenLabel?: string;
  slot?: string;
  pinEnv?: string;
  keyLabel?: string;
  mechanism?: string;
}

function addKeystoreOptions(cmd: Command): Command {
  return cmd
    .option("-c, --config <file>", "smgate.yaml: use its keystore (and policy) sections")
    .option("--keystore <file>", "keystore file, when not using --config")
    .addOption(
      new Option("--provider <kind>", "master-key provider, when not using --config").choices([
        "file",
        "env",
        "pkcs11",
      ]),
    )
    .option(
      "--passphrase-env <var>",
      "file provider: environment variable holding the passphrase (else asked on a terminal)",
    )
    .option(
      "--master-key-env <var>",
      "env provider: environment variable holding the 16-byte master key (hex or base64)",
    )
    .option("--pkcs11-module <path>", "pkcs11 provider: PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so")
    .option("--token-label <label>", "pkcs11 provider: token label")
    .option("--slot <id>", "pkcs11 provider: slot id (instead of --token-label)")
    .option("--pin-env <var>", "pkcs11 provider: environment variable holding the user PIN")
    .option("--key-label <label>", "pkcs11 provider: label of the master key on the token")
    .option("--mechanism <name|number>", "pkcs11 provider: wrapping mechanism (default CKM_AES_KEY_WRAP_PAD)");
}

interface Resolved {
  cfg: KeystoreConfig;
  /** policy.yaml named by --config, when there is one. */
  policyPath?: string;
}

function resolveKeystore(flags: KeystoreFlags): Resolved {
  if (flags.config) {
    if (flags.keystore || flags.provider) {
      throw new KeystoreError("CONFIG", "give either --config or --keystore/--provider, not both");
    }
    const conf = loadConfig(flags.config);
    return { cfg: conf.keystore as KeystoreConfig, policyPath: conf.policy };
  }
  if (!flags.keystore) {
    throw new KeystoreError("CONFIG", "say which keystore: --config smgate.yaml, or --keystore FILE with --provider");
  }
  const provider = flags.provider ?? "file";
  const cfg: KeystoreConfig = { provider, path: resolve(flags.keystore) };
  if (provider === "file") cfg.passphrase_env = flags.passphraseEnv;
  if (provider === "env") {
    if (!flags.masterKeyEnv) throw new KeystoreError("CONFIG", "--provider env needs --master-key-env VAR");
    cfg.master_key_env = flags.masterKeyEnv;
  }
  if (provider === "pkcs11") {
    if (!flags.pkcs11Module || !flags.pinEnv || !flags.keyLabel || (!flags.tokenLabel && flags.slot === undefined)) {
      throw new KeystoreError(
        "CONFIG",
        "--provider pkcs11 needs --pkcs11-module, --pin-env, --key-label and --token-label or --slot",
      );
    }
    const mech = flags.mechanism;
    cfg.pkcs11 = {
      module: flags.pkcs11Module,
      pin_env: flags.pinEnv,
      key_label: flags.keyLabel,
      ...(flags.tokenLabel ? { token_label: flags.tokenLabel } : {}),
      ...(flags.slot !== undefined ? { slot: parseIntArg(flags.slot, "--slot") } : {}),
      ...(mech !== undefined ? { mechanism: /^\d+$/.test(mech) ? Number(mech) : mech } : {}),
    };
  }
  return { cfg };
}

function parseIntArg(v: string, what: string): number {
  if (!/^\d+$/.test(v)) throw new KeystoreError("CONFIG", `${what} must be a non-negative integer`);
  return Number(v);
}

function openOptions(forNew: boolean): OpenOptions {
  if (!isInteractive()) return {};
  return { askPassphrase: forNew ? askNewPassphrase : askHidden };
}

async function withKeystore<T>(flags: KeystoreFlags, fn: (ks: KeyStore) => Promise<T> | T): Promise<T> {
  const { cfg } = resolveKeystore(flags);
  const ks = await openKeyStore(cfg, openOptions(false));
  try {
    return await fn(ks);
  } finally {
    ks.close();
  }
}

function out(line = ""): void {
  process.stdout.write(line + "\n");
}

export function formatKeyTable(keys: KeyInfo[]): string {
  const rows = [["ID", "NAME", "LEVEL", "STATE", "CREATED", "PARENT"]];
  for (const k of keys) rows.push([String(k.keyId), k.name, k.level, k.state, k.createdAt, String(k.parentId)]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function readSecretFromEnv(name: string, what: string): string {
  const v = process.env[name];
  if (v === undefined || v === "")
    throw new KeystoreError("CONFIG", `environment variable ${name} (${what}) is not set`);
  return v;
}

/** SM2 public key given inline (130 hex digits) or as a file (hex or PEM, e.g. from `smgate policy keygen`). */
function sm2PublicKeyArg(v: string): string {
  const t = v.trim();
  if (/^04[0-9a-fA-F]{128}$/.test(t)) return t;
  if (!existsSync(t)) {
    throw new KeystoreError("CONFIG", `--sm2-public-key: "${v}" is neither 130 hex digits nor a readable file`);
  }
  try {
    return readSm2PublicKey(readFileSync(t, "utf8"));
  } catch (err) {
    throw new KeystoreError("CONFIG", `--sm2-public-key ${t}: ${(err as Error).message}`);
  }
}

function sm2PrivateKeyFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new KeystoreError("CONFIG", `cannot read SM2 private key file ${path}: ${(err as Error).message}`);
  }
  try {
    return readSm2PrivateKey(text);
  } catch (err) {
    throw new KeystoreError("CONFIG", `--sm2-private-key-file ${path}: ${(err as Error).message}`);
  }
}

export function registerKeysCommands(program: Command): void {
  const keys = program
    .command("keys")
    .description("manage the key hierarchy: master key (provider) → KEKs → DEKs (one per policy key name)");

  addKeystoreOptions(
    keys
      .command("init")
      .description("create a new keystore (master key, default KEK) and a DEK for every key name the policy uses"),
  )
    .option("--policy <file>", "policy.yaml whose key names get DEKs (default: the policy named by --config)")
    .option("--iterations <n>", "PBKDF2-HMAC-SM3 iterations for the file provider (minimum and default 200000)")
    .addHelpText(
      "after",
      "\nExamples:\n  SMGATE_PASSPHRASE=… smgate keys init --config smgate.yaml\n" +
        "  smgate keys init --keystore ./keystore.json --provider file --passphrase-env SMGATE_PASSPHRASE --policy policy.yaml",
    )
    .action(async (flags: KeystoreFlags & { policy?: string; iterations?: string }) => {
      const { cfg, policyPath } = resolveKeystore(flags);
      const policy = flags.policy ?? (policyPath && existsSync(policyPath) ? policyPath : undefined);
      if (!flags.policy && policyPath && !policy)
        out(`note: policy ${policyPath} does not exist yet; no data keys created`);
      // every key name the policy uses (same defaulting as the gateway), plus the audit chain's key
      const names = policy ? compilePolicy(loadPolicy(policy)).keyNames() : [];
      const iterations = flags.iterations !== undefined ? parseIntArg(flags.iterations, "--iterations") : undefined;
      const ks = await initKeyStore(cfg, { ...openOptions(true), kdfIterations: iterations });
      try {
        for (const name of names) ks.createKey(name);
        ks.createKey(AUDIT_KEY_NAME);
        ks.save();
        out(`created keystore ${cfg.path} (provider ${cfg.provider}, master key id ${ks.masterKeyId})`);
        for (const k of ks.list()) out(`  ${k.level.toUpperCase()} ${k.keyId}  ${k.name}`);
        if (policy) out(`${names.length} data key(s) for the key names in ${policy}`);
      } finally {
        ks.close();
      }
    });

  addKeystoreOptions(keys.command("list").description("list keys (id, name, level, state, created) — never key bytes"))
    .option("--json", "print JSON instead of a table")
    .action(async (flags: KeystoreFlags & { json?: boolean }) => {
      await withKeystore(flags, (ks) => {
        const infos = ks.list();
        if (flags.json) out(JSON.stringify(infos, null, 2));
        else out(formatKeyTable(infos));
      });
    });

  addKeystoreOptions(
    keys
      .command("create")
      .argument("<name...>", "key names")
      .description("add a DEK for new key names (e.g. after adding columns to the policy)"),
  )
    .option("--kek <name>", "KEK to wrap the new DEKs under (created if absent)", "default")
    .action(async (names: string[], flags: KeystoreFlags & { kek: string }) => {
      await withKeystore(flags, (ks) => {
        for (const n of names) {
          const k = ks.createKey(n, { kek: flags.kek });
          out(`created DEK ${k.keyId} for "${n}"`);
        }
        ks.save();
      });
    });

  addKeystoreOptions(
    keys
      .command("rotate")
      .argument("<name...>", "key names to rotate")
      .description("create a new active DEK for each name; the previous one becomes decrypt-only"),
  )
    .addHelpText(
      "after",
      "\nOld data stays readable; re-encrypt it with `smgate migrate --rekey`, then destroy the old key.",
    )
    .action(async (names: string[], flags: KeystoreFlags) => {
      await withKeystore(flags, (ks) => {
        for (const n of names) {
          const previous = ks.list().find((k) => k.level === "dek" && k.name === n && k.state === "active");
          const k = ks.rotate(n);
          out(
            `rotated "${n}": new active key ${k.keyId}` +
              (previous ? `; key ${previous.keyId} is now decrypt-only` : ""),
          );
        }
        ks.save();
      });
    });

  addKeystoreOptions(
    keys
      .command("destroy")
      .argument("<keyId>", "id of the key to destroy (see `smgate keys list`)")
      .description("destroy a key: its wrapped material is deleted; data under it can never be decrypted again"),
  )
    .option("-y, --yes", "do not ask for confirmation (required when not on a terminal)")
    .action(async (keyIdArg: string, flags: KeystoreFlags & { yes?: boolean }) => {
      const keyId = parseIntArg(keyIdArg, "keyId");
      await withKeystore(flags, async (ks) => {
        const info = ks.list().find((k) => k.keyId === keyId);
        if (!info) throw new KeystoreError("UNKNOWN_KEY", `key ${keyId} is not in keystore ${ks.path}`);
        if (!flags.yes) {
          if (!isInteractive()) {
            throw new KeystoreError(
              "INVALID_OPERATION",
              "refusing to destroy a key without --yes when not on a terminal",
            );
          }
          const answer = await askLine(
            `Destroy ${info.level.toUpperCase()} ${keyId} ("${info.name}", ${info.state})? Data encrypted under it ` +
              `will be unrecoverable. Type the key id to confirm: `,
          );
          if (answer !== String(keyId)) {
            out("not destroyed");
            return;
          }
        }
        ks.destroy(keyId);
        ks.save();
        out(`destroyed key ${keyId} ("${info.name}")`);
      });
    });

  addKeystoreOptions(
    keys
      .command("export-backup")
      .description(
        "write an encrypted backup of all keys (and the policy) to a backup passphrase or an SM2 public key",
      ),
  )
    .requiredOption("-o, --out <file>", "backup file to write (mode 0600; refuses to overwrite)")
    .option("--backup-passphrase-env <var>", "environment variable holding the backup passphrase (else asked)")
    .option(
      "--sm2-public-key <hex|file>",
      "encrypt to this SM2 public key (04… hex, or a hex/PEM file such as officer.pub)",
    )
    .option("--policy <file>", "policy.yaml to include (default: the policy named by --config)")
    .option("--no-policy", "do not include the policy")
    .action(
      async (
        flags: KeystoreFlags & {
          out: string;
          backupPassphraseEnv?: string;
          sm2PublicKey?: string;
          policy?: string | false;
        },
      ) => {
        if (existsSync(flags.out))
          throw new KeystoreError("FILE_EXISTS", `${flags.out} already exists; refusing to overwrite it`);
        const { policyPath } = resolveKeystore(flags);
        const policyFile =
          flags.policy === false
            ? undefined
            : (flags.policy ?? (policyPath && existsSync(policyPath) ? policyPath : undefined));
        const policyText = policyFile ? readFileSync(policyFile, "utf8") : undefined;
        let to: BackupRecipient;
        if (flags.sm2PublicKey) {
          if (flags.backupPassphraseEnv)
            throw new KeystoreError("CONFIG", "give --sm2-public-key or a backup passphrase, not both");
          to = { sm2PublicKey: sm2PublicKeyArg(flags.sm2PublicKey) };
        } else if (flags.backupPassphraseEnv) {
          to = { passphrase: readSecretFromEnv(flags.backupPassphraseEnv, "backup passphrase") };
        } else if (isInteractive()) {
          to = { passphrase: await askNewPassphrase("Backup passphrase: ") };
        } else {
          throw new KeystoreError(
            "CONFIG",
            "give --backup-passphrase-env VAR or --sm2-public-key (no terminal to ask)",
          );
        }
        await withKeystore(flags, (ks) => {
          writeFileAtomic(resolve(flags.out), ks.exportBackup(to, { policyText }));
          const n = ks.list().length;
          out(`wrote backup of ${n} key(s)${policyText !== undefined ? " and the policy" : ""} to ${flags.out}`);
        });
      },
    );

  addKeystoreOptions(
    keys
      .command("import-backup")
      .description("verify a backup and restore it into a NEW keystore under a new master key"),
  )
    .requiredOption("-i, --in <file>", "backup file")
    .option("--backup-passphrase-env <var>", "environment variable holding the backup passphrase (else asked)")
    .option("--sm2-private-key-env <var>", "environment variable holding the SM2 private key (64 hex digits)")
    .option("--sm2-private-key-file <file>", "file holding the SM2 private key (hex or PEM, e.g. officer.key)")
    .option("--policy-out <file>", "write the policy carried by the backup here (refuses to overwrite)")
    .option("--iterations <n>", "PBKDF2 iterations for a new file-provider keystore (minimum and default 200000)")
    .action(
      async (
        flags: KeystoreFlags & {
          in: string;
          backupPassphraseEnv?: string;
          sm2PrivateKeyEnv?: string;
          sm2PrivateKeyFile?: string;
          policyOut?: string;
          iterations?: string;
        },
      ) => {
        let text: string;
        try {
          text = readFileSync(flags.in, "utf8");
        } catch (err) {
          throw new KeystoreError("FILE_MISSING", `cannot read backup ${flags.in}: ${(err as Error).message}`);
        }
        if (flags.policyOut && existsSync(flags.policyOut)) {
          throw new KeystoreError("FILE_EXISTS", `${flags.policyOut} already exists; refusing to overwrite it`);
        }
        let unlock: BackupUnlock;
        if (flags.sm2PrivateKeyFile) unlock = { sm2PrivateKey: sm2PrivateKeyFile(flags.sm2PrivateKeyFile) };
        else if (flags.sm2PrivateKeyEnv)
          unlock = { sm2PrivateKey: readSecretFromEnv(flags.sm2PrivateKeyEnv, "SM2 private key") };
        else if (flags.backupPassphraseEnv)
          unlock = { passphrase: readSecretFromEnv(flags.backupPassphraseEnv, "backup passphrase") };
        else if (isInteractive()) unlock = { passphrase: await askHidden("Backup passphrase: ") };
        else {
          throw new KeystoreError(
            "CONFIG",
            "give --backup-passphrase-env VAR, --sm2-private-key-env VAR or --sm2-private-key-file FILE",
          );
        }
        const { cfg } = resolveKeystore(flags);
        const iterations = flags.iterations !== undefined ? parseIntArg(flags.iterations, "--iterations") : undefined;
        const ks = await initKeyStore(cfg, { ...openOptions(true), kdfIterations: iterations, defaultKek: false });
        let restored: { keys: number; policyText?: string };
        try {
          restored = ks.importBackup(text, unlock, flags.in);
          ks.save();
        } catch (err) {
          ks.close();
          // do not leave an empty keystore behind when the backup was refused
          unlinkSync(cfg.path);
          throw err;
        }
        ks.close();
        out(`restored ${restored.keys} key(s) from ${flags.in} into ${cfg.path} (provider ${cfg.provider})`);
        if (restored.policyText !== undefined) {
          if (flags.policyOut) {
            writeFileAtomic(resolve(flags.policyOut), restored.policyText);
            out(`wrote the backed-up policy to ${flags.policyOut}`);
          } else {
            out("the backup carries a policy; use --policy-out FILE to write it");
          }
        }
      },
    );
}
