// Encrypted key backups ("smgate-key-backup" v1): every key (clear bytes inside the encrypted payload only)
// plus optionally the policy text, sealed with the RND envelope under a bundle key. The bundle key is
// PBKDF2-HMAC-SM3(backup passphrase) or random and SM2-encrypted to a public key. The envelope's AD is the
// canonical JSON of the header, so header and payload authenticate together; import verifies before use.
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { deriveDataKey } from "../crypto/data-key.js";
import { decryptEnvelopes, encryptRnd } from "../crypto/envelope.js";
import { canonicalJson } from "./canonical-json.js";
import { KeystoreError } from "./errors.js";
import {
  checkIterations,
  checkNewPassphrase,
  DEFAULT_PBKDF2_ITERATIONS,
  deriveKeyFromPassphrase,
  KDF_ALGORITHM,
  type KdfPolicy,
  newKdfParams,
} from "./kdf.js";
import { checkValueMatches, masterCheckValue } from "./providers/software-master.js";
import { checkSm2PublicKey, sm2DecryptKey, sm2EncryptKey } from "./sm2-recipient.js";
import type { KeyInfo } from "./types.js";

export const BACKUP_FORMAT = "smgate-key-backup";
export const BACKUP_VERSION = 1;

export interface BackupKey extends KeyInfo {
  /** Clear key bytes; undefined for destroyed keys. */
  key: Buffer | undefined;
}

export type BackupRecipient = ({ passphrase: string; iterations?: number } & KdfPolicy) | { sm2PublicKey: string };

export type BackupUnlock = ({ passphrase: string } & KdfPolicy) | { sm2PrivateKey: string };

const b64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, "expected base64");
const keyId = z.number().int().min(1).max(0xffffffff);

const headerSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(BACKUP_VERSION),
  created_at: z.string(),
  bundle_key_id: keyId,
  recipient: z.discriminatedUnion("type", [
    z.object({
      type: z.literal("passphrase"),
      kdf: z.object({ alg: z.literal(KDF_ALGORITHM), iterations: z.number().int().positive(), salt: b64 }),
      check: b64,
    }),
    z.object({ type: z.literal("sm2"), public_key: z.string(), encrypted_key: b64 }),
  ]),
});
const bundleSchema = headerSchema.extend({ payload: b64 });
type BackupHeader = z.infer<typeof headerSchema>;

const payloadSchema = z.object({
  keys: z.array(
    z.object({
      id: keyId,
      name: z.string().min(1),
      level: z.enum(["kek", "dek"]),
      parent: keyId,
      state: z.enum(["active", "decrypt-only", "destroyed"]),
      created_at: z.string(),
      key: b64.optional(),
    }),
  ),
  policy: z.string().optional(),
});

function headerAd(h: BackupHeader): Buffer {
  return Buffer.from("smgate/backup/v1/" + canonicalJson(h), "utf8");
}

/** Produces the text of a backup file. */
export function sealBackup(keys: BackupKey[], to: BackupRecipient, policyText?: string): string {
  const bundleKeyId = randomBytes(4).readUInt32BE(0) || 1;
  let bundleKey: Buffer;
  let recipient: BackupHeader["recipient"];
  if ("passphrase" in to) {
    checkNewPassphrase(to.passphrase, "backup passphrase");
    const params = newKdfParams(to.iterations ?? DEFAULT_PBKDF2_ITERATIONS, to);
    bundleKey = deriveKeyFromPassphrase(to.passphrase, params);
    recipient = {
      type: "passphrase",
      kdf: { alg: KDF_ALGORITHM, iterations: params.iterations, salt: params.salt.toString("base64") },
      check: masterCheckValue(bundleKeyId, bundleKey).toString("base64"),
    };
  } else {
    const pub = checkSm2PublicKey(to.sm2PublicKey);
    bundleKey = randomBytes(16);
    recipient = { type: "sm2", public_key: pub, encrypted_key: sm2EncryptKey(pub, bundleKey).toString("base64") };
  }
  const header: BackupHeader = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    created_at: new Date().toISOString(),
    bundle_key_id: bundleKeyId,
    recipient,
  };
  const payload = {
    keys: keys.map((k) => ({
      id: k.keyId,
      name: k.name,
      level: k.level,
      parent: k.parentId,
      state: k.state,
      created_at: k.createdAt,
      ...(k.key && k.state !== "destroyed" ? { key: k.key.toString("base64") } : {}),
    })),
    ...(policyText !== undefined ? { policy: policyText } : {}),
  };
  const plain = Buffer.from(JSON.stringify(payload), "utf8");
  const env = encryptRnd(deriveDataKey(bundleKeyId, bundleKey), headerAd(header), [plain])[0];
  plain.fill(0);
  bundleKey.fill(0);
  return JSON.stringify({ ...header, payload: env.toString("base64") }, null, 2) + "\n";
}

/** Verifies and decrypts a backup; every failure is a BACKUP_INVALID error naming `source`. */
export function openBackup(
  text: string,
  unlock: BackupUnlock,
  source: string,
): { keys: BackupKey[]; policyText?: string } {
  const bad = (msg: string): never => {
    throw new KeystoreError("BACKUP_INVALID", `${source}: ${msg}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return bad("is not a smgate key backup (not valid JSON; truncated or corrupted?)");
  }
  const parsed = bundleSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return bad(`is not a valid smgate key backup: ${i.path.join(".") || "(top level)"}: ${i.message}`);
  }
  const { payload, ...header } = parsed.data;
  let bundleKey: Buffer | undefined;
  const r = header.recipient;
  if (r.type === "passphrase") {
    if (!("passphrase" in unlock)) return bad("is encrypted to a backup passphrase; give the backup passphrase");
    checkIterations(r.kdf.iterations, source, unlock);
    bundleKey = deriveKeyFromPassphrase(unlock.passphrase, {
      alg: r.kdf.alg,
      iterations: r.kdf.iterations,
      salt: Buffer.from(r.kdf.salt, "base64"),
    });
    if (!checkValueMatches(header.bundle_key_id, bundleKey, Buffer.from(r.check, "base64"))) {
      return bad("wrong backup passphrase (or the backup's KDF parameters were altered)");
    }
  } else {
    if (!("sm2PrivateKey" in unlock)) return bad("is encrypted to an SM2 public key; give the SM2 private key");
    bundleKey = sm2DecryptKey(unlock.sm2PrivateKey, Buffer.from(r.encrypted_key, "base64"));
    if (bundleKey?.length !== 16) {
      return bad("the SM2 private key does not decrypt this backup (wrong key, or encrypted_key was altered)");
    }
  }
  let plain: Buffer;
  try {
    plain = decryptEnvelopes(() => deriveDataKey(header.bundle_key_id, bundleKey), headerAd(header), [
      Buffer.from(payload, "base64"),
    ])[0];
  } catch {
    return bad("integrity check failed: the backup was modified or damaged; refusing to restore it");
  } finally {
    bundleKey.fill(0);
  }
  const content = payloadSchema.safeParse(JSON.parse(plain.toString("utf8")));
  plain.fill(0);
  if (!content.success) return bad("authenticated payload has an unexpected shape (written by another version?)");
  const keys: BackupKey[] = content.data.keys.map((k) => {
    const key = k.key !== undefined ? Buffer.from(k.key, "base64") : undefined;
    if (key !== undefined && key.length !== 16) bad(`key ${k.id} is ${key.length} bytes, expected 16`);
    if (key === undefined && k.state !== "destroyed") bad(`key ${k.id} is ${k.state} but carries no key bytes`);
    return {
      keyId: k.id,
      name: k.name,
      level: k.level,
      parentId: k.parent,
      state: k.state,
      createdAt: k.created_at,
      key,
    };
  });
  if (new Set(keys.map((k) => k.keyId)).size !== keys.length) bad("lists a key id more than once");
  const kekIds = new Set(keys.filter((k) => k.level === "kek").map((k) => k.keyId));
  for (const k of keys) {
    if (k.level === "dek" && !kekIds.has(k.parentId))
      bad(`DEK ${k.keyId} names parent ${k.parentId}, not a KEK in the backup`);
  }
  return { keys, policyText: content.data.policy };
}
