// Typed errors of the keystore. Messages name the file or key involved and say what to do; they never
// contain key bytes, passphrases or PINs.

export type KeystoreErrorCode =
  | "FILE_MISSING" // the keystore / backup file does not exist
  | "FILE_EXISTS" // refusing to overwrite an existing keystore
  | "FILE_CHANGED" // the file was changed by another process since it was opened (save refused)
  | "FILE_CORRUPT" // not JSON, truncated, or a field has the wrong shape
  | "FILE_TAMPERED" // integrity check (MAC / wrap tag) failed: edited outside smgate
  | "UNSUPPORTED_VERSION" // a format version this build does not read
  | "WRONG_PASSPHRASE" // passphrase / master key does not open this keystore
  | "WEAK_KDF" // PBKDF2 iteration count below the production minimum
  | "CONFIG" // keystore configuration is incomplete or inconsistent
  | "PROVIDER" // master-key provider failure (PKCS#11 module, token, PIN, env var)
  | "KEY_EXISTS" // a key name that already exists
  | "UNKNOWN_KEY" // key id not in the keystore
  | "UNKNOWN_NAME" // key name not in the keystore
  | "NO_ACTIVE_KEY" // key name exists but has no active key (destroyed)
  | "KEY_DESTROYED" // key id was destroyed
  | "INVALID_OPERATION" // e.g. destroying a KEK that still has live DEKs
  | "BACKUP_INVALID"; // backup bundle malformed, tampered, or the wrong unlock secret

export class KeystoreError extends Error {
  readonly code: KeystoreErrorCode;
  constructor(code: KeystoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KeystoreError";
    this.code = code;
  }
}

/** Thrown by KeyRing.active/byId when no usable data key exists for the name or id asked for. */
export class KeyUnavailableError extends KeystoreError {
  constructor(code: "UNKNOWN_KEY" | "UNKNOWN_NAME" | "NO_ACTIVE_KEY" | "KEY_DESTROYED", message: string) {
    super(code, message);
    this.name = "KeyUnavailableError";
  }
}
