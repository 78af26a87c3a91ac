// The keystore file, format "smgate-keystore" version 1: JSON with wrapped keys only (no key bytes in
// clear) and a MAC over the canonical JSON of everything else. This module parses and validates the shape
// (typed errors naming the file and the field) and serialises; the cryptographic checks live in open.ts.
import { z } from "zod";
import { canonicalJson } from "./canonical-json.js";
import { KeystoreError } from "./errors.js";
import type { KeyLevel, KeyState } from "./types.js";

export const KEYSTORE_FORMAT = "smgate-keystore";
export const KEYSTORE_VERSION = 1;

const b64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, "expected base64");
const keyId = z.number().int().min(1).max(0xffffffff);

const providerSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("file"),
    kdf: z.object({
      alg: z.literal("pbkdf2-hmac-sm3"),
      iterations: z.number().int().positive(),
      salt: b64,
    }),
    check: b64,
  }),
  z.object({ type: z.literal("env"), check: b64 }),
  z.object({
    type: z.literal("pkcs11"),
    key_label: z.string().min(1),
    mechanism: z.number().int().nonnegative(),
  }),
]);

const keySchema = z.object({
  id: keyId,
  name: z.string().min(1).max(200),
  level: z.enum(["kek", "dek"]),
  parent: keyId,
  state: z.enum(["active", "decrypt-only", "destroyed"]),
  created_at: z.string().min(1),
  wrapped: b64.optional(),
});

const fileSchema = z.object({
  format: z.literal(KEYSTORE_FORMAT),
  version: z.number().int(),
  master_key_id: keyId,
  provider: providerSchema,
  integrity_key: b64,
  keys: z.array(keySchema),
  mac: z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits"),
});

export type ProviderRecord =
  | { type: "file"; kdf: { alg: "pbkdf2-hmac-sm3"; iterations: number; salt: string }; check: string }
  | { type: "env"; check: string }
  | { type: "pkcs11"; key_label: string; mechanism: number };

export interface KeyEntry {
  id: number;
  name: string;
  level: KeyLevel;
  parent: number;
  state: KeyState;
  created_at: string;
  /** base64 of the wrapped key; absent once destroyed. */
  wrapped?: string;
}

/** Everything in the file except the MAC. */
export interface KeystoreBody {
  format: typeof KEYSTORE_FORMAT;
  version: number;
  master_key_id: number;
  provider: ProviderRecord;
  integrity_key: string;
  keys: KeyEntry[];
}

export interface KeystoreFile extends KeystoreBody {
  mac: string;
}

/** The bytes the file MAC covers. */
export function macInput(body: KeystoreBody): Buffer {
  const { format, version, master_key_id, provider, integrity_key, keys } = body;
  return Buffer.from(canonicalJson({ format, version, master_key_id, provider, integrity_key, keys }), "utf8");
}

export function serializeKeystore(file: KeystoreFile): string {
  return JSON.stringify(file, null, 2) + "\n";
}

/** Parses and validates the structure of a keystore file; every problem names the file. */
export function parseKeystore(text: string, path: string): KeystoreFile {
  if (text.trim().length === 0) {
    throw new KeystoreError("FILE_CORRUPT", `keystore file ${path} is empty (truncated?)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new KeystoreError(
      "FILE_CORRUPT",
      `keystore file ${path} is not valid JSON (truncated or corrupted): ${(err as Error).message}`,
    );
  }
  if (typeof raw === "object" && raw !== null && "format" in raw && "version" in raw) {
    const r = raw as { format: unknown; version: unknown };
    if (r.format === KEYSTORE_FORMAT && r.version !== KEYSTORE_VERSION) {
      throw new KeystoreError(
        "UNSUPPORTED_VERSION",
        `keystore file ${path} has format version ${JSON.stringify(r.version)}; this smgate reads version ${KEYSTORE_VERSION}`,
      );
    }
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join(".") : "(top level)"}: ${i.message}`)
      .join("; ");
    throw new KeystoreError("FILE_CORRUPT", `keystore file ${path} is malformed: ${problems}`);
  }
  const file = parsed.data as KeystoreFile;
  checkConsistency(file, path);
  return file;
}

/** Cross-field rules: unique ids, parents that exist, wrapped material present exactly when not destroyed. */
function checkConsistency(file: KeystoreFile, path: string): void {
  const bad = (msg: string): never => {
    throw new KeystoreError("FILE_CORRUPT", `keystore file ${path} is inconsistent: ${msg}`);
  };
  const ids = new Set<number>([file.master_key_id]);
  const keks = new Set<number>();
  for (const k of file.keys) {
    if (ids.has(k.id)) bad(`key id ${k.id} appears more than once`);
    ids.add(k.id);
    if (k.level === "kek") keks.add(k.id);
  }
  const activeNames = new Set<string>();
  for (const k of file.keys) {
    if (k.level === "kek" && k.parent !== file.master_key_id) bad(`KEK ${k.id} is not under the master key`);
    if (k.level === "dek" && !keks.has(k.parent)) bad(`DEK ${k.id} names parent ${k.parent}, which is not a KEK`);
    if (k.state === "destroyed" && k.wrapped !== undefined) bad(`key ${k.id} is destroyed but still has material`);
    if (k.state !== "destroyed" && k.wrapped === undefined) bad(`key ${k.id} is ${k.state} but has no material`);
    if (k.state === "active") {
      const tag = `${k.level}:${k.name}`;
      if (activeNames.has(tag)) bad(`more than one active ${k.level} named "${k.name}"`);
      activeNames.add(tag);
    }
  }
}
