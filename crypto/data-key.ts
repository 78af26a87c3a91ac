// A DEK expanded into its working subkeys (SPEC §4): HKDF-SM3 with empty salt and info "smgate/v1/<name>".
import { CryptoError } from "./errors.js";
import { hkdfSm3 } from "./hkdf-sm3.js";
import { HmacSm3 } from "./hmac-sm3.js";

export interface DataKey {
  keyId: number;
  /** SM4 key for CTR encryption (16 B). */
  enc: Buffer;
  /** HMAC-SM3 for RND tags and integrity MACs (32-byte key). */
  mac: HmacSm3;
  /** HMAC-SM3 for DET synthetic IVs (32-byte key). */
  siv: HmacSm3;
  /** HMAC-SM3 for blind indexes (32-byte key). */
  bidx: HmacSm3;
  /** SM4 key for FF1 (16 B). */
  fpe: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** Subkey bytes, exposed for test vectors and the plugin's byte-identical derivation. */
export function deriveSubkeys(dek: Buffer): { enc: Buffer; mac: Buffer; siv: Buffer; bidx: Buffer; fpe: Buffer } {
  if (!Buffer.isBuffer(dek) || dek.length !== 16) {
    throw new CryptoError("BAD_INPUT", `DEK must be 16 bytes, got ${dek?.length ?? "none"}`);
  }
  return {
    enc: hkdfSm3(dek, EMPTY, "smgate/v1/enc", 16),
    mac: hkdfSm3(dek, EMPTY, "smgate/v1/mac", 32),
    siv: hkdfSm3(dek, EMPTY, "smgate/v1/siv", 32),
    bidx: hkdfSm3(dek, EMPTY, "smgate/v1/bidx", 32),
    fpe: hkdfSm3(dek, EMPTY, "smgate/v1/fpe", 16),
  };
}

export function deriveDataKey(keyId: number, dek: Buffer): DataKey {
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xffffffff) {
    throw new CryptoError("BAD_INPUT", `key id must be an unsigned 32-bit integer, got ${keyId}`);
  }
  const s = deriveSubkeys(dek);
  const key: DataKey = {
    keyId,
    enc: s.enc,
    mac: new HmacSm3(s.mac),
    siv: new HmacSm3(s.siv),
    bidx: new HmacSm3(s.bidx),
    fpe: s.fpe,
  };
  s.mac.fill(0);
  s.siv.fill(0);
  s.bidx.fill(0);
  return key;
}
