// The master-key provider interface: wraps and unwraps level-2 material (KEKs and the keystore integrity
// key) under the master key, wherever that key lives (derived in memory, or on a PKCS#11 token).
import type { ProviderRecord } from "../file-format.js";

export interface MasterKeyProvider {
  readonly kind: "file" | "env" | "pkcs11";
  /** What the keystore file records about this provider (no secrets). */
  record(): ProviderRecord;
  wrap(ad: Buffer, key: Buffer): Buffer;
  /** Throws when the blob does not authenticate under the master key and this AD. */
  unwrap(ad: Buffer, blob: Buffer): Buffer;
  /** Releases provider resources (PKCS#11 session); zeroes in-memory master material. */
  close(): void;
}
