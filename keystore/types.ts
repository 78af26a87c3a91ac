// Shared keystore types: key metadata, states and the keystore section of smgate.yaml.

export type KeyLevel = "kek" | "dek";
export type KeyState = "active" | "decrypt-only" | "destroyed";

/** Metadata of one key. Never carries key bytes. */
export interface KeyInfo {
  keyId: number;
  name: string;
  level: KeyLevel;
  state: KeyState;
  createdAt: string;
  /** Key id of the key this one is wrapped under (the master key id for KEKs). */
  parentId: number;
}

export interface Pkcs11Config {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so */
  module: string;
  /** Slot id (as reported by the module) — give this or token_label. */
  slot?: number;
  /** Token label — give this or slot. */
  token_label?: string;
  /** Name of the environment variable holding the user PIN (required). */
  pin_env?: string;
  /** CKA_LABEL of the master key object on the token (required). */
  key_label?: string;
  /** Wrapping mechanism: a CKM_* name known to pkcs11js or a (vendor) mechanism number. */
  mechanism?: string | number;
}

/** The `keystore:` section of smgate.yaml (SPEC §3). */
export interface KeystoreConfig {
  provider: "file" | "env" | "pkcs11";
  /** Keystore JSON file (wrapped KEKs and DEKs); with the pkcs11 provider the master key stays on the token. */
  path: string;
  /** file provider: environment variable holding the passphrase. */
  passphrase_env?: string;
  /** env provider: environment variable holding the 16-byte master key as hex or base64. */
  master_key_env?: string;
  pkcs11?: Pkcs11Config;
}
