// Public surface of the keystore: open/init, the KeyStore and its KeyRing, errors and types.
export { BACKUP_FORMAT, type BackupRecipient, type BackupUnlock } from "./backup.js";
export { KeystoreError, type KeystoreErrorCode, KeyUnavailableError } from "./errors.js";
export { MIN_PBKDF2_ITERATIONS } from "./kdf.js";
export type { KeyRing } from "./keyring.js";
export { DEFAULT_KEK_NAME, KeyStore } from "./keystore.js";
export { type InitOptions, initKeyStore, type OpenOptions, openKeyStore } from "./open.js";
export type { KeyInfo, KeyLevel, KeyState, KeystoreConfig, Pkcs11Config } from "./types.js";
