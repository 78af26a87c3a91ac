// Blind index (SPEC §4): HMAC-SM3(bidx, normalize(pt))[:16] for equality search on RND columns.
// normalize: a plaintext that is valid UTF-8 is converted to Unicode NFC and re-encoded as UTF-8 (ASCII is
// already NFC and skips the conversion); anything else (binary values) is used byte for byte. No case folding,
// no trimming: the index matches exactly what `=` on the NFC text would match.
import type { DataKey } from "./data-key.js";
import { CryptoError } from "./errors.js";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function isAscii(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] > 0x7f) return false;
  return true;
}

/** The bytes that are MACed for a blind index (exported for tests and the plugin documentation). */
export function normalizeForIndex(pt: Buffer): Buffer {
  if (isAscii(pt)) return pt;
  let s: string;
  try {
    s = utf8.decode(pt);
  } catch {
    return pt;
  }
  const nfc = s.normalize("NFC");
  return nfc === s ? pt : Buffer.from(nfc, "utf8");
}

export function blindIndex(key: DataKey, pts: Buffer[]): Buffer[] {
  if (!key?.bidx) throw new CryptoError("BAD_INPUT", "blindIndex: no data key given");
  const n = pts.length;
  const slab = Buffer.allocUnsafe(16 * n);
  const out: Buffer[] = new Array(n);
  const h = key.bidx;
  for (let i = 0; i < n; i++) {
    if (!(pts[i] instanceof Uint8Array)) throw new CryptoError("BAD_INPUT", `blindIndex: value ${i} is not a Buffer`);
    const p = normalizeForIndex(pts[i]);
    h.begin();
    h.update(p, 0, p.length);
    h.finishInto(slab, 16 * i, 16);
    out[i] = slab.subarray(16 * i, 16 * i + 16);
  }
  return out;
}
