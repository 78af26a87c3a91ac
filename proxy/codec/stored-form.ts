// How a binary envelope / blind index / MAC is written into a stored column, per the column's storage type and
// the wire format: "text" (smg1: + base64url, for text/varchar columns), "bytea-hex" (PostgreSQL text format of
// bytea, \x…), "raw" (binary wire format, MySQL blobs).
import { envelopeFromText, envelopeToText } from "../../crypto/envelope.js";
import { envelopesFromTextBytes } from "../../crypto/envelope-text-bytes.js";

export type StoredForm = "text" | "bytea-hex" | "raw";

export function encodeStored(bytes: Buffer, form: StoredForm): Buffer {
  switch (form) {
    case "raw":
      return bytes;
    case "text":
      return Buffer.from(envelopeToText(bytes), "latin1");
    case "bytea-hex": {
      const out = Buffer.allocUnsafe(2 + bytes.length * 2);
      out[0] = 0x5c; // backslash
      out[1] = 0x78; // x
      out.write(bytes.toString("hex"), 2, "latin1");
      return out;
    }
  }
}

/** Companion values (blind index, MAC) in text columns are plain base64url (22 chars for 16 bytes). */
export function encodeCompanion(bytes: Buffer, form: StoredForm): Buffer {
  return form === "text" ? Buffer.from(bytes.toString("base64url"), "latin1") : encodeStored(bytes, form);
}

export function decodeCompanion(stored: Buffer, form: StoredForm): Buffer {
  return form === "text" ? Buffer.from(stored.toString("latin1"), "base64url") : decodeStored(stored, form);
}

/** Throws CryptoError BAD_ENVELOPE for a text value that is not an envelope. */
export function decodeStored(stored: Buffer, form: StoredForm): Buffer {
  switch (form) {
    case "raw":
      return stored;
    case "text":
      return envelopeFromText(stored.toString("latin1"));
    case "bytea-hex":
      if (stored.length < 2 || stored[0] !== 0x5c || stored[1] !== 0x78) return Buffer.alloc(0);
      return Buffer.from(stored.toString("latin1", 2), "hex");
  }
}

/** decodeStored over a batch; text envelopes are decoded from their bytes into one slab (no strings). */
export function decodeStoredBatch(stored: Buffer[], form: StoredForm): Buffer[] {
  if (form === "text") return envelopesFromTextBytes(stored);
  return stored.map((v) => decodeStored(v, form));
}
