// The opened keystore: the key table (KEKs under the master, DEKs under KEKs), its mutations (create,
// rotate, destroy), backup export/import and atomic saving. Mutations change memory and the live KeyRing;
// save() writes the file.
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "./atomic-write.js";
import { type BackupKey, type BackupRecipient, type BackupUnlock, openBackup, sealBackup } from "./backup.js";
import { KeystoreError } from "./errors.js";
import {
  KEYSTORE_FORMAT,
  KEYSTORE_VERSION,
  type KeyEntry,
  type KeystoreBody,
  macInput,
  serializeKeystore,
} from "./file-format.js";
import { type KeyRing, LiveKeyRing } from "./keyring.js";
import type { MasterKeyProvider } from "./providers/master-provider.js";
import { withSaveLock } from "./save-lock.js";
import type { KeyInfo, KeyLevel } from "./types.js";
import { keyAd, parentDataKey, unwrapUnder, wrapUnder } from "./wrap.js";

export const DEFAULT_KEK_NAME = "default";
const KEY_NAME_RE = /^[A-Za-z0-9_.:@-]{1,200}$/;

/** One key of the table; `material` is the clear key in memory (absent once destroyed). */
export interface KeyRecord {
  info: KeyInfo;
  wrapped: Buffer | undefined;
  material: Buffer | undefined;
}

export interface KeystoreParts {
  path: string;
  provider: MasterKeyProvider;
  masterKeyId: number;
  integrityKey: Buffer;
  integrityWrapped: Buffer;
  records: KeyRecord[];
  /** MAC of the file as it was read (undefined for a keystore being created). */
  loadedMac?: string;
}

export function integrityAd(masterKeyId: number): Buffer {
  return keyAd("integrity", "keystore", masterKeyId);
}

export function fileMac(integrityKey: Buffer, body: KeystoreBody): Buffer {
  return createHmac("sm3", integrityKey).update(macInput(body)).digest();
}

export class KeyStore {
  readonly path: string;
  readonly #provider: MasterKeyProvider;
  readonly #masterKeyId: number;
  readonly #integrityKey: Buffer;
  readonly #integrityWrapped: Buffer;
  readonly #records = new Map<number, KeyRecord>();
  readonly #ring: LiveKeyRing;
  #dirty = false;
  #loadedMac: string | undefined;

  constructor(parts: KeystoreParts) {
    this.path = parts.path;
    this.#provider = parts.provider;
    this.#masterKeyId = parts.masterKeyId;
    this.#integrityKey = parts.integrityKey;
    this.#integrityWrapped = parts.integrityWrapped;
    this.#ring = new LiveKeyRing(parts.path);
    this.#loadedMac = parts.loadedMac;
    for (const r of parts.records) this.#insert(r);
  }

  get providerKind(): MasterKeyProvider["kind"] {
    return this.#provider.kind;
  }

  get masterKeyId(): number {
    return this.#masterKeyId;
  }

  /** True when there are changes not yet written by save(). */
  get dirty(): boolean {
    return this.#dirty;
  }

  keyRing(): KeyRing {
    return this.#ring;
  }

  list(): KeyInfo[] {
    return this.#ring.info();
  }

  /** Creates a KEK (one per database, or the default one). */
  createKek(name: string): KeyInfo {
    checkName(name);
    if (this.#find("kek", name)) throw new KeystoreError("KEY_EXISTS", `a KEK named "${name}" already exists`);
    return this.#newKey("kek", name, this.#masterKeyId);
  }

  /** Creates the first DEK of a key name, under the KEK named `kek` (default "default", created if absent). */
  createKey(name: string, opts: { kek?: string } = {}): KeyInfo {
    checkName(name);
    if (this.#find("dek", name)) {
      throw new KeystoreError("KEY_EXISTS", `key name "${name}" already exists; use rotate to add a new version`);
    }
    const kekName = opts.kek ?? DEFAULT_KEK_NAME;
    const kek = this.#find("kek", kekName) ?? this.#records.get(this.createKek(kekName).keyId)!;
    if (kek.info.state !== "active") {
      throw new KeystoreError(
        "INVALID_OPERATION",
        `KEK "${kekName}" is ${kek.info.state}; cannot create keys under it`,
      );
    }
    return this.#newKey("dek", name, kek.info.keyId);
  }

  /** New active DEK for the name (under the same KEK); the previous active one becomes decrypt-only. */
  rotate(name: string): KeyInfo {
    const versions = [...this.#records.values()].filter((r) => r.info.level === "dek" && r.info.name === name);
    if (versions.length === 0) {
      throw new KeystoreError("UNKNOWN_NAME", `no key named "${name}" in keystore ${this.path}`);
    }
    const current = versions.find((r) => r.info.state === "active") ?? versions[versions.length - 1];
    let kek = this.#records.get(current.info.parentId)!;
    if (kek.info.state !== "active") {
      kek = this.#find("kek", DEFAULT_KEK_NAME) ?? this.#records.get(this.createKek(DEFAULT_KEK_NAME).keyId)!;
    }
    // the new key material is created (and wrapped) before anything changes state
    const material = randomBytes(16);
    const keyId = this.#newKeyId();
    const wrapped = this.#wrap("dek", name, keyId, kek.info.keyId, material);
    for (const v of versions) {
      if (v.info.state === "active") {
        v.info.state = "decrypt-only";
        this.#ring.setState(v.info.keyId, "decrypt-only");
      }
    }
    const info: KeyInfo = {
      keyId,
      name,
      level: "dek",
      state: "active",
      createdAt: new Date().toISOString(),
      parentId: kek.info.keyId,
    };
    this.#insert({ info, wrapped, material });
    this.#dirty = true;
    return { ...info };
  }

  /** Destroys a key: its wrapped material is deleted; a KEK only once it has no live DEKs. */
  destroy(keyId: number): KeyInfo {
    if (keyId === this.#masterKeyId) {
      throw new KeystoreError("INVALID_OPERATION", `key ${keyId} is the master key; it cannot be destroyed from here`);
    }
    const rec = this.#records.get(keyId);
    if (!rec) throw new KeystoreError("UNKNOWN_KEY", `key ${keyId} is not in keystore ${this.path}`);
    if (rec.info.state === "destroyed") return { ...rec.info };
    if (rec.info.level === "kek") {
      const live = [...this.#records.values()].filter((r) => r.info.parentId === keyId && r.info.state !== "destroyed");
      if (live.length > 0) {
        throw new KeystoreError(
          "INVALID_OPERATION",
          `KEK ${keyId} ("${rec.info.name}") still wraps ${live.length} live DEK(s) (${live.map((r) => r.info.keyId).join(", ")}); destroy those first`,
        );
      }
    }
    rec.info.state = "destroyed";
    rec.wrapped = undefined;
    rec.material?.fill(0);
    rec.material = undefined;
    this.#ring.setState(keyId, "destroyed");
    this.#dirty = true;
    return { ...rec.info };
  }

  /** An encrypted bundle of every key (and optionally the policy text), as the text of a backup file. */
  exportBackup(to: BackupRecipient, opts: { policyText?: string } = {}): string {
    const keys: BackupKey[] = [...this.#records.values()].map((r) => ({ ...r.info, key: r.material }));
    return sealBackup(keys, to, opts.policyText);
  }

  /**
   * Restores a backup into this (empty) keystore: every key keeps its id, name, level and state and is
   * re-wrapped under this keystore's master. Returns the policy text carried by the backup, if any.
   */
  importBackup(bundleText: string, unlock: BackupUnlock, source = "backup"): { keys: number; policyText?: string } {
    if (this.#records.size > 0) {
      throw new KeystoreError(
        "INVALID_OPERATION",
        `keystore ${this.path} already holds keys; restore into a new keystore`,
      );
    }
    const content = openBackup(bundleText, unlock, source);
    const keks = content.keys.filter((k) => k.level === "kek");
    const deks = content.keys.filter((k) => k.level === "dek");
    if (content.keys.some((k) => k.keyId === this.#masterKeyId)) {
      throw new KeystoreError(
        "BACKUP_INVALID",
        `${source}: a key id collides with the new keystore's master key id (1 in 4 billion); create the new keystore again`,
      );
    }
    for (const k of keks) this.#restore(k, this.#masterKeyId);
    for (const k of deks) this.#restore(k, k.parentId);
    this.#dirty = true;
    return { keys: content.keys.length, policyText: content.policyText };
  }

  /** Writes the keystore file atomically (temp file + rename, mode 0600). */
  save(): void {
    const keys: KeyEntry[] = [...this.#records.values()].map((r) => ({
      id: r.info.keyId,
      name: r.info.name,
      level: r.info.level,
      parent: r.info.parentId,
      state: r.info.state,
      created_at: r.info.createdAt,
      ...(r.wrapped ? { wrapped: r.wrapped.toString("base64") } : {}),
    }));
    const body: KeystoreBody = {
      format: KEYSTORE_FORMAT,
      version: KEYSTORE_VERSION,
      master_key_id: this.#masterKeyId,
      provider: this.#provider.record(),
      integrity_key: this.#integrityWrapped.toString("base64"),
      keys,
    };
    const mac = fileMac(this.#integrityKey, body).toString("hex");
    try {
      withSaveLock(this.path, () => {
        this.#checkUnchangedOnDisk();
        writeFileAtomic(this.path, serializeKeystore({ ...body, mac }));
      });
    } catch (err) {
      if (err instanceof KeystoreError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? "error";
      throw new KeystoreError(
        "CONFIG",
        `cannot write keystore file ${this.path} (${code}): check the folder exists and is writable`,
        {
          cause: err,
        },
      );
    }
    this.#loadedMac = mac;
    this.#dirty = false;
  }

  /** Zeroes key material in memory and releases the provider (PKCS#11 session). */
  close(): void {
    for (const r of this.#records.values()) r.material?.fill(0);
    this.#integrityKey.fill(0);
    this.#ring.clear();
    this.#provider.close();
  }

  // ---- internals ----

  /** Refuses to overwrite changes another process saved since this keystore was opened (lost update). */
  #checkUnchangedOnDisk(): void {
    let current: string | undefined;
    try {
      const doc = JSON.parse(readFileSync(this.path, "utf8")) as { mac?: unknown };
      current = typeof doc.mac === "string" ? doc.mac : "";
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") current = "";
    }
    if (current !== this.#loadedMac) {
      throw new KeystoreError(
        "FILE_CHANGED",
        current === undefined
          ? `keystore file ${this.path} disappeared since it was opened; nothing was written`
          : this.#loadedMac === undefined
            ? `keystore file ${this.path} was created by another process meanwhile; nothing was written`
            : `keystore file ${this.path} was changed by another process since it was opened; nothing was written — open it again and repeat the change`,
      );
    }
  }

  #insert(r: KeyRecord): void {
    this.#records.set(r.info.keyId, r);
    this.#ring.add(r.info, r.material);
  }

  #find(level: KeyLevel, name: string): KeyRecord | undefined {
    let found: KeyRecord | undefined;
    for (const r of this.#records.values()) {
      if (r.info.level !== level || r.info.name !== name || r.info.state === "destroyed") continue;
      if (!found || r.info.state === "active") found = r;
    }
    return found;
  }

  #newKeyId(): number {
    for (;;) {
      const id = randomBytes(4).readUInt32BE(0);
      if (id !== 0 && id !== this.#masterKeyId && !this.#records.has(id)) return id;
    }
  }

  #wrap(level: KeyLevel, name: string, keyId: number, parentId: number, material: Buffer): Buffer {
    const ad = keyAd(level, name, keyId);
    if (level === "kek") return this.#provider.wrap(ad, material);
    const parent = this.#records.get(parentId);
    if (!parent?.material) throw new KeystoreError("INVALID_OPERATION", `parent KEK ${parentId} is not available`);
    return wrapUnder(parentDataKey(parentId, parent.material), ad, material);
  }

  #newKey(level: KeyLevel, name: string, parentId: number): KeyInfo {
    const keyId = this.#newKeyId();
    const material = randomBytes(16);
    const wrapped = this.#wrap(level, name, keyId, parentId, material);
    const info: KeyInfo = { keyId, name, level, state: "active", createdAt: new Date().toISOString(), parentId };
    this.#insert({ info, wrapped, material });
    this.#dirty = true;
    return { ...info };
  }

  #restore(k: BackupKey, parentId: number): void {
    const info: KeyInfo = {
      keyId: k.keyId,
      name: k.name,
      level: k.level,
      state: k.state,
      createdAt: k.createdAt,
      parentId,
    };
    if (k.state === "destroyed" || !k.key) {
      this.#insert({ info: { ...info, state: "destroyed" }, wrapped: undefined, material: undefined });
      return;
    }
    const material = Buffer.from(k.key);
    const wrapped = this.#wrap(k.level, k.name, k.keyId, parentId, material);
    this.#insert({ info, wrapped, material });
  }
}

function checkName(name: string): void {
  if (!KEY_NAME_RE.test(name)) {
    throw new KeystoreError(
      "INVALID_OPERATION",
      `key name ${JSON.stringify(name)} is invalid: use 1-200 characters from A-Z a-z 0-9 _ . : @ -`,
    );
  }
}

/** Unwraps one entry of a keystore file; failures are FILE_TAMPERED errors naming the file and key. */
export function unwrapEntry(
  path: string,
  entry: KeyEntry,
  parent: { provider: MasterKeyProvider } | { kekId: number; kek: Buffer },
): Buffer {
  const ad = keyAd(entry.level, entry.name, entry.id);
  const blob = Buffer.from(entry.wrapped!, "base64");
  try {
    const key =
      "provider" in parent
        ? parent.provider.unwrap(ad, blob)
        : unwrapUnder(parentDataKey(parent.kekId, parent.kek), ad, blob);
    if (key.length !== 16) throw new Error(`unwrapped key has ${key.length} bytes, expected 16`);
    return key;
  } catch (err) {
    if (err instanceof KeystoreError && err.code === "PROVIDER") throw err;
    throw new KeystoreError(
      "FILE_TAMPERED",
      `keystore file ${path}: wrapped ${entry.level.toUpperCase()} ${entry.id} ("${entry.name}") does not authenticate ` +
        `(edited, swapped or damaged): ${(err as Error).message}`,
    );
  }
}
