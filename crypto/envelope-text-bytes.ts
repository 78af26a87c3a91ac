// Batch decoding of envelope texts ("smg1:" + canonical base64url, see envelope-text.ts) straight from the
// bytes a database sent, into one output slab: no intermediate strings, no regex, no re-encoding check.
// Accepts and refuses exactly what envelopeFromText does (test/crypto/envelope-text-bytes.test.ts).

import { ENVELOPE_TEXT_PREFIX } from "./envelope-text.js";
import { CryptoError } from "./errors.js";

const PREFIX = Buffer.from(ENVELOPE_TEXT_PREFIX, "latin1");
const P = PREFIX.length;

/** base64url character → 6-bit value, -1 for anything else. */
const VALUE = new Int8Array(256).fill(-1);
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
for (let i = 0; i < 64; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

function hasPrefix(t: Uint8Array): boolean {
  if (t.length < P) return false;
  for (let i = 0; i < P; i++) if (t[i] !== PREFIX[i]) return false;
  return true;
}

/** Decoded byte length of a body of `chars` base64url characters (no padding), or -1 when impossible. */
function decodedLength(chars: number): number {
  const r = chars & 3;
  if (r === 1) return -1;
  return (chars >>> 2) * 3 + (r === 0 ? 0 : r - 1);
}

/**
 * Decodes the envelope texts `texts` (latin1/UTF-8 bytes) into envelopes backed by one slab. Throws
 * CryptoError BAD_ENVELOPE (naming the batch position) for a missing prefix or non-canonical base64url.
 */
export function envelopesFromTextBytes(texts: readonly Uint8Array[]): Buffer[] {
  const n = texts.length;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const t = texts[i];
    if (!hasPrefix(t)) {
      throw new CryptoError("BAD_ENVELOPE", `envelope text must start with "${ENVELOPE_TEXT_PREFIX}" (value ${i})`);
    }
    const len = decodedLength(t.length - P);
    if (len < 0) throw new CryptoError("BAD_ENVELOPE", `envelope text is not canonical base64url (value ${i})`);
    total += len;
  }
  const slab = Buffer.allocUnsafe(total);
  const out: Buffer[] = new Array(n);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const t = texts[i];
    const start = o;
    const end = t.length;
    let k = P;
    let bad = 0;
    for (; k + 4 <= end; k += 4) {
      const a = VALUE[t[k]];
      const b = VALUE[t[k + 1]];
      const c = VALUE[t[k + 2]];
      const d = VALUE[t[k + 3]];
      bad |= a | b | c | d;
      slab[o++] = (a << 2) | (b >>> 4);
      slab[o++] = ((b & 15) << 4) | (c >>> 2);
      slab[o++] = ((c & 3) << 6) | d;
    }
    const rest = end - k;
    if (rest === 2) {
      const a = VALUE[t[k]];
      const b = VALUE[t[k + 1]];
      bad |= a | b | (b & 15 ? -1 : 0); // canonical: the 4 unused bits are zero
      slab[o++] = (a << 2) | (b >>> 4);
    } else if (rest === 3) {
      const a = VALUE[t[k]];
      const b = VALUE[t[k + 1]];
      const c = VALUE[t[k + 2]];
      bad |= a | b | c | (c & 3 ? -1 : 0); // canonical: the 2 unused bits are zero
      slab[o++] = (a << 2) | (b >>> 4);
      slab[o++] = ((b & 15) << 4) | (c >>> 2);
    }
    if (bad < 0) throw new CryptoError("BAD_ENVELOPE", `envelope text is not canonical base64url (value ${i})`);
    out[i] = slab.subarray(start, o);
  }
  return out;
}
