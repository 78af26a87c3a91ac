// Creating and opening keystores: reads and validates the file, opens the master-key provider, checks the
// integrity MAC over the key table, and unwraps KEKs (via the provider) and DEKs (via their KEK).
import { randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { KeystoreError } from "./errors.js";
import { type KeyEntry, type KeystoreFile, type ProviderRecord, parseKeystore } from "./file-format.js";
import { DEFAULT_PBKDF2_ITERATIONS, type KdfPolicy } from "./kdf.js";
import { DEFAULT_KEK_NAME, fileMac, integrityAd, type KeyRecord, KeyStore, unwrapEntry } from "./keystore.js";
import { createEnvMaster, openEnvMaster } from "./providers/env-master.js";
import type { MasterKeyProvider } from "./providers/master-provider.js";
import { createPassphraseMaster, openPassphraseMaster } from "./providers/passphrase-master.js";
import { Pkcs11Master } from "./providers/pkcs11-master.js";
import type { KeystoreConfig } from "./types.js";

export interface OpenOptions extends KdfPolicy {
  /** file provider: the passphrase itself (otherwise read from cfg.passphrase_env, else askPassphrase). */
  passphrase?: string;
  /** file provider: interactive prompt used when no passphrase is given or set in the environment. */
  askPassphrase?: (question: string) => Promise<string>;
  /** Environment to read passphrase / master key / PIN variables from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface InitOptions extends OpenOptions {
  /** PBKDF2 iterations for a new file provider keystore (default and minimum 200,000). */
  kdfIterations?: number;
  /** Create the "default" KEK (default true; false for restoring a backup into an empty keystore). */
  defaultKek?: boolean;
}

async function passphraseFor(cfg: KeystoreConfig, opts: OpenOptions, question: string): Promise<string> {
  if (opts.passphrase !== undefined) return opts.passphrase;
  const env = opts.env ?? process.env;
  const name = cfg.passphrase_env;
  if (name && env[name] !== undefined && env[name] !== "") return env[name]!;
  if (opts.askPassphrase) return opts.askPassphrase(question);
  throw new KeystoreError(
    "PROVIDER",
    name
      ? `environment variable ${name} (keystore.passphrase_env) is not set and no terminal is available to ask for the passphrase`
      : "keystore.passphrase_env is not configured and no terminal is available to ask for the passphrase",
  );
}

function envNameFor(cfg: KeystoreConfig): string {
  if (!cfg.master_key_env) throw new KeystoreError("CONFIG", "provider env needs keystore.master_key_env");
  return cfg.master_key_env;
}

function pkcs11Cfg(cfg: KeystoreConfig) {
  if (!cfg.pkcs11) throw new KeystoreError("CONFIG", "provider pkcs11 needs a keystore.pkcs11 section");
  return cfg.pkcs11;
}

/** Creates a new keystore file (refusing to overwrite one) and returns it opened. */
export async function initKeyStore(cfg: KeystoreConfig, opts: InitOptions = {}): Promise<KeyStore> {
  if (!cfg.path) throw new KeystoreError("CONFIG", "keystore.path is required");
  if (existsSync(cfg.path)) {
    throw new KeystoreError("FILE_EXISTS", `keystore file ${cfg.path} already exists; refusing to overwrite it`);
  }
  const masterKeyId = randomBytes(4).readUInt32BE(0) || 1;
  let provider: MasterKeyProvider;
  switch (cfg.provider) {
    case "file": {
      const pass = await passphraseFor(cfg, opts, "New keystore passphrase: ");
      provider = createPassphraseMaster(masterKeyId, pass, opts.kdfIterations ?? DEFAULT_PBKDF2_ITERATIONS, opts);
      break;
    }
    case "env":
      provider = createEnvMaster(masterKeyId, envNameFor(cfg), opts.env);
      break;
    case "pkcs11":
      provider = Pkcs11Master.open(pkcs11Cfg(cfg), { createIfMissing: true, env: opts.env });
      break;
    default:
      throw new KeystoreError(
        "CONFIG",
        `unknown keystore provider ${JSON.stringify((cfg as KeystoreConfig).provider)}`,
      );
  }
  try {
    const integrityKey = randomBytes(32);
    const integrityWrapped = provider.wrap(integrityAd(masterKeyId), integrityKey);
    const ks = new KeyStore({ path: cfg.path, provider, masterKeyId, integrityKey, integrityWrapped, records: [] });
    if (opts.defaultKek !== false) ks.createKek(DEFAULT_KEK_NAME);
    ks.save();
    return ks;
  } catch (err) {
    provider.close();
    throw err;
  }
}

/** Opens an existing keystore; every failure is a KeystoreError naming the file and the problem. */
export async function openKeyStore(cfg: KeystoreConfig, opts: OpenOptions = {}): Promise<KeyStore> {
  if (!cfg.path) throw new KeystoreError("CONFIG", "keystore.path is required");
  const path = cfg.path;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new KeystoreError(
        "FILE_MISSING",
        `keystore file ${path} does not exist; create it with "smgate keys init"`,
      );
    }
    throw new KeystoreError("CONFIG", `cannot read keystore file ${path}: ${(err as Error).message}`);
  }
  const file = parseKeystore(text, path);
  if (file.provider.type !== cfg.provider) {
    throw new KeystoreError(
      "CONFIG",
      `keystore file ${path} was created with provider "${file.provider.type}" but the configuration says "${cfg.provider}"`,
    );
  }
  const provider = await openProvider(cfg, file.provider, file.master_key_id, opts, path);
  try {
    return buildKeyStore(path, file, provider);
  } catch (err) {
    provider.close();
    throw err;
  }
}

async function openProvider(
  cfg: KeystoreConfig,
  rec: ProviderRecord,
  masterKeyId: number,
  opts: OpenOptions,
  path: string,
): Promise<MasterKeyProvider> {
  switch (rec.type) {
    case "file": {
      const pass = await passphraseFor(cfg, opts, `Passphrase for ${path}: `);
      return openPassphraseMaster(rec, masterKeyId, pass, opts, path);
    }
    case "env":
      return openEnvMaster(rec, masterKeyId, envNameFor(cfg), path, opts.env);
    case "pkcs11": {
      const p = pkcs11Cfg(cfg);
      if (p.key_label !== undefined && p.key_label !== rec.key_label) {
        throw new KeystoreError(
          "CONFIG",
          `keystore file ${path} is wrapped under token key "${rec.key_label}" but pkcs11.key_label is "${p.key_label}"`,
        );
      }
      const master = Pkcs11Master.open(
        { ...p, key_label: rec.key_label, mechanism: p.mechanism ?? rec.mechanism },
        { createIfMissing: false, env: opts.env },
      );
      if (master.mechanism !== rec.mechanism) {
        master.close();
        throw new KeystoreError(
          "CONFIG",
          `keystore file ${path} was wrapped with mechanism ${rec.mechanism} but pkcs11.mechanism resolves to ${master.mechanism}`,
        );
      }
      return master;
    }
  }
}

function buildKeyStore(path: string, file: KeystoreFile, provider: MasterKeyProvider): KeyStore {
  const integrityWrapped = Buffer.from(file.integrity_key, "base64");
  let integrityKey: Buffer;
  try {
    integrityKey = provider.unwrap(integrityAd(file.master_key_id), integrityWrapped);
  } catch (err) {
    if (err instanceof KeystoreError && err.code === "PROVIDER") throw err;
    throw new KeystoreError(
      "FILE_TAMPERED",
      `keystore file ${path}: the integrity key does not authenticate under the master key (file edited or damaged, ` +
        `or a different master key)`,
    );
  }
  const expected = fileMac(integrityKey, file);
  const actual = Buffer.from(file.mac, "hex");
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    integrityKey.fill(0);
    throw new KeystoreError(
      "FILE_TAMPERED",
      `keystore file ${path}: integrity check failed — the key table was modified outside smgate; ` +
        `restore the file from a copy or a backup`,
    );
  }
  const records: KeyRecord[] = [];
  const kekMaterial = new Map<number, Buffer>();
  const toRecord = (e: KeyEntry, material: Buffer | undefined): KeyRecord => ({
    info: { keyId: e.id, name: e.name, level: e.level, state: e.state, createdAt: e.created_at, parentId: e.parent },
    wrapped: e.wrapped !== undefined ? Buffer.from(e.wrapped, "base64") : undefined,
    material,
  });
  for (const e of file.keys.filter((k) => k.level === "kek")) {
    const material = e.state === "destroyed" ? undefined : unwrapEntry(path, e, { provider });
    if (material) kekMaterial.set(e.id, material);
    records.push(toRecord(e, material));
  }
  for (const e of file.keys.filter((k) => k.level === "dek")) {
    let material: Buffer | undefined;
    if (e.state !== "destroyed") {
      const kek = kekMaterial.get(e.parent);
      if (!kek) {
        throw new KeystoreError(
          "FILE_CORRUPT",
          `keystore file ${path}: DEK ${e.id} is under KEK ${e.parent}, which was destroyed`,
        );
      }
      material = unwrapEntry(path, e, { kekId: e.parent, kek });
    }
    records.push(toRecord(e, material));
  }
  // keep the file's order so a save without changes rewrites the same table
  const order = new Map(file.keys.map((k, i) => [k.id, i]));
  records.sort((a, b) => order.get(a.info.keyId)! - order.get(b.info.keyId)!);
  return new KeyStore({
    path,
    provider,
    masterKeyId: file.master_key_id,
    integrityKey,
    integrityWrapped,
    records,
    loadedMac: file.mac,
  });
}
