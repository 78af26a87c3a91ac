// Test helpers for the keystore suites: temp folders, env-provider configs with a known master key, and
// recovery of every clear key (through a backup) to scan files for leaked key bytes.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BackupKey, openBackup } from "../../keystore/backup.js";
import type { KeyStore } from "../../keystore/keystore.js";
import type { KeystoreConfig } from "../../keystore/types.js";

const dirs: string[] = [];

export function tempDir(prefix = "smg-keystore-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** An env-provider config plus the environment holding its master key. */
export function envKeystore(dir: string, file = "keystore.json") {
  const master = randomBytes(16);
  const env = { SMG_TEST_MASTER: master.toString("hex") } as NodeJS.ProcessEnv;
  const cfg: KeystoreConfig = { provider: "env", path: join(dir, file), master_key_env: "SMG_TEST_MASTER" };
  return { cfg, env, master };
}

/** A file-provider config; tests pass the passphrase and a low iteration count explicitly. */
export function fileKeystore(dir: string, file = "keystore.json") {
  const cfg: KeystoreConfig = { provider: "file", path: join(dir, file) };
  return { cfg, passphrase: `pass-${randomBytes(6).toString("hex")}` };
}

/** Test-only fast KDF (the production floor is 200,000 iterations). */
export const WEAK = { kdfIterations: 1000, allowWeakKdfForTests: true } as const;

/** Every clear KEK/DEK of a keystore, recovered through an encrypted backup round trip. */
export function clearKeys(ks: KeyStore): BackupKey[] {
  const text = ks.exportBackup({ passphrase: "x-backup", iterations: 1000, allowWeakKdfForTests: true });
  return openBackup(text, { passphrase: "x-backup", allowWeakKdfForTests: true }, "test").keys;
}

/** Textual encodings a key could leak in. */
export function encodings(key: Buffer): string[] {
  const b64 = key.toString("base64");
  return [
    key.toString("hex"),
    key.toString("hex").toUpperCase(),
    b64,
    b64.replace(/=+$/, ""),
    key.toString("base64url"),
  ];
}

/**
 * True when `key` occurs in `text`: as any textual encoding, or inside the bytes of any JSON string value
 * decoded as base64 or hex (catches keys embedded at any offset of a longer encoded blob).
 */
export function containsKey(text: string, key: Buffer): boolean {
  if (encodings(key).some((e) => text.includes(e))) return true;
  if (text.includes(key.toString("latin1"))) return true;
  for (const m of text.matchAll(/"([^"\\]*)"/g)) {
    const s = m[1];
    const decoded: Buffer[] = [];
    if (/^[A-Za-z0-9+/_-]+=*$/.test(s)) decoded.push(Buffer.from(s, "base64"));
    if (/^[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0) decoded.push(Buffer.from(s, "hex"));
    if (decoded.some((d) => d.indexOf(key) >= 0)) return true;
  }
  return false;
}
