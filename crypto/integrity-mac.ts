// Integrity MAC for plaintext columns (SPEC §4): HMAC-SM3(mac, AD ‖ rowkey ‖ value)[:16].
// Row key encoding: for each row-key column in policy order, a 4-byte big-endian length followed by the value's
// bytes (its database text form), or the 4 bytes FF FF FF FF for SQL NULL. The encoding is self-delimiting, so
// AD (fixed per column) ‖ rowkey ‖ value is unambiguous.
import type { DataKey } from "./data-key.js";
import { CryptoError } from "./errors.js";

export const ROWKEY_NULL = 0xffffffff;

export function encodeRowKey(values: (Buffer | null)[]): Buffer {
  let total = 0;
  for (const v of values) total += 4 + (v === null ? 0 : v.length);
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  for (const v of values) {
    if (v === null) {
      out.writeUInt32BE(ROWKEY_NULL, o);
      o += 4;
    } else {
      if (v.length >= ROWKEY_NULL) throw new CryptoError("BAD_INPUT", "encodeRowKey: value too long");
      out.writeUInt32BE(v.length, o);
      v.copy(out, o + 4);
      o += 4 + v.length;
    }
  }
  return out;
}

export function integrityMac(key: DataKey, ad: Buffer, rowKey: Buffer, value: Buffer): Buffer {
  if (!key?.mac) throw new CryptoError("BAD_INPUT", "integrityMac: no data key given");
  const h = key.mac;
  h.begin();
  h.update(ad, 0, ad.length);
  h.update(rowKey, 0, rowKey.length);
  h.update(value, 0, value.length);
  const out = Buffer.allocUnsafe(16);
  h.finishInto(out, 0, 16);
  return out;
}
