// HKDF (RFC 5869) over HMAC-SM3, via node:crypto's hkdfSync('sm3'); test/crypto checks it against an
// independent RFC 5869 construction over HmacSm3.
import { hkdfSync } from "node:crypto";
import { CryptoError } from "./errors.js";

export function hkdfSm3(ikm: Buffer, salt: Buffer, info: string | Buffer, length: number): Buffer {
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new CryptoError("BAD_INPUT", `HKDF-SM3 output length must be 1..8160 bytes, got ${length}`);
  }
  const infoBytes = typeof info === "string" ? Buffer.from(info, "utf8") : info;
  return Buffer.from(hkdfSync("sm3", ikm, salt, infoBytes, length));
}
