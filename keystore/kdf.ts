// Passphrase-based key derivation: PBKDF2-HMAC-SM3 (node:crypto, OpenSSL) with a production floor on the
// iteration count. Lower counts exist only for tests and must be asked for explicitly.
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { KeystoreError } from "./errors.js";

export const KDF_ALGORITHM = "pbkdf2-hmac-sm3";
/** Production minimum and default iteration count (SPEC §4). */
export const MIN_PBKDF2_ITERATIONS = 200_000;
export const DEFAULT_PBKDF2_ITERATIONS = 200_000;
export const KDF_SALT_BYTES = 16;

export interface KdfParams {
  alg: typeof KDF_ALGORITHM;
  iterations: number;
  salt: Buffer;
}

export interface KdfPolicy {
  /** Tests only: accept iteration counts below MIN_PBKDF2_ITERATIONS. */
  allowWeakKdfForTests?: boolean;
}

export function newKdfParams(iterations: number, policy: KdfPolicy = {}): KdfParams {
  checkIterations(iterations, "requested", policy);
  return { alg: KDF_ALGORITHM, iterations, salt: randomBytes(KDF_SALT_BYTES) };
}

/** Throws WEAK_KDF when the count is below the production floor (unless a test asked for weak KDFs). */
export function checkIterations(iterations: number, where: string, policy: KdfPolicy = {}): void {
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new KeystoreError("WEAK_KDF", `${where}: PBKDF2 iteration count must be a positive integer`);
  }
  if (iterations < MIN_PBKDF2_ITERATIONS && !policy.allowWeakKdfForTests) {
    throw new KeystoreError(
      "WEAK_KDF",
      `${where}: PBKDF2 iteration count ${iterations} is below the minimum of ${MIN_PBKDF2_ITERATIONS}; ` +
        `refusing to use it (re-create the file with at least ${MIN_PBKDF2_ITERATIONS} iterations)`,
    );
  }
}

/** Minimum length of a passphrase chosen for a new keystore or backup. */
export const MIN_PASSPHRASE_LENGTH = 8;

export function checkNewPassphrase(passphrase: string, what: string): void {
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new KeystoreError("CONFIG", `the ${what} must have at least ${MIN_PASSPHRASE_LENGTH} characters`);
  }
}

/** Derives a 16-byte SM4 key from a passphrase. */
export function deriveKeyFromPassphrase(passphrase: string, params: KdfParams): Buffer {
  if (passphrase.length === 0) throw new KeystoreError("CONFIG", "the passphrase is empty");
  return pbkdf2Sync(Buffer.from(passphrase, "utf8"), params.salt, params.iterations, 16, "sm3");
}
