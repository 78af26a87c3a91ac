// Text form of envelopes for text columns: "smg1:" + base64url(envelope), no padding, canonical only.
import { CryptoError } from "./errors.js";

export const ENVELOPE_TEXT_PREFIX = "smg1:";
const B64URL = /^[A-Za-z0-9_-]*$/;
/** Smallest envelope: DET of an empty plaintext (1 + 4 + 16 bytes). */
const MIN_ENVELOPE = 21;

export function envelopeToText(env: Buffer): string {
  return ENVELOPE_TEXT_PREFIX + env.toString("base64url");
}

function decodeBody(s: string): Buffer | undefined {
  if (!s.startsWith(ENVELOPE_TEXT_PREFIX)) return undefined;
  const body = s.slice(ENVELOPE_TEXT_PREFIX.length);
  if (body.length % 4 === 1 || !B64URL.test(body)) return undefined;
  const buf = Buffer.from(body, "base64url");
  // reject non-canonical encodings (non-zero trailing bits): they would give two texts for one envelope
  if (buf.toString("base64url") !== body) return undefined;
  return buf;
}

export function envelopeFromText(s: string): Buffer {
  if (typeof s !== "string" || !s.startsWith(ENVELOPE_TEXT_PREFIX)) {
    throw new CryptoError("BAD_ENVELOPE", `envelope text must start with "${ENVELOPE_TEXT_PREFIX}"`);
  }
  const buf = decodeBody(s);
  if (buf === undefined) throw new CryptoError("BAD_ENVELOPE", "envelope text is not canonical base64url");
  return buf;
}

/** True when s looks like an envelope text: prefix, canonical base64url, plausible length and version byte. */
export function isEnvelopeText(s: string): boolean {
  if (typeof s !== "string") return false;
  const buf = decodeBody(s);
  if (buf === undefined || buf.length < MIN_ENVELOPE) return false;
  return buf[0] === 0x01 ? buf.length >= 37 : buf[0] === 0x02;
}
