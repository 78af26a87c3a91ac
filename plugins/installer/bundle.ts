// Plugin key bundle: the DEKs a database's plugin may use, encrypted under a session token, in the format the
// C core opens (plugins/common/smgate_core.h, smg_keyring_open):
//   text  "smgb1:" + base64url(bin), no padding
//   bin   "SMGB" ‖ 01 ‖ salt(16) ‖ iv(16) ‖ ct ‖ tag(16)
//   enc ‖ mac = HKDF-SM3(ikm = token bytes (UTF-8), salt, info "smgate/v1/plugin-bundle", 48)  (16 + 32 bytes)
//   ct  = SM4-CTR(enc, iv, body), tag = HMAC-SM3(mac, every byte before the tag)[:16]
//   body = count u16 BE, then per key: key id u32 BE ‖ state u8 (1 active, 2 decrypt-only) ‖ name length u8 ‖
//          name (UTF-8) ‖ DEK(16)
// The bundle may be stored in the database (smgate.key_bundle / smgate_key_bundle); the token never is.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { hkdfSm3 } from "../../crypto/hkdf-sm3.js";
import { HmacSm3 } from "../../crypto/hmac-sm3.js";
import { sm4Ctr } from "../../crypto/sm4.js";
import { PluginError } from "./errors.js";

export const BUNDLE_TEXT_PREFIX = "smgb1:";
const MAGIC = Buffer.from("SMGB", "ascii");
const INFO = "smgate/v1/plugin-bundle";
const HEADER = 4 + 1 + 16 + 16;
const TAG = 16;

export interface PluginKey {
  keyId: number;
  name: string;
  state: "active" | "decrypt-only";
  /** Clear 16-byte DEK; callers zero it when done. */
  dek: Buffer;
}

/** A fresh session token: 32 random bytes as base64url (43 characters). Give it to the app; never store it. */
export function newSessionToken(): string {
  return randomBytes(32).toString("base64url");
}

function tokenBytes(token: string | Buffer): Buffer {
  const b = typeof token === "string" ? Buffer.from(token, "utf8") : token;
  if (b.length < 16)
    throw new PluginError("BAD_TOKEN", "session token must be at least 16 bytes (use newSessionToken())");
  return b;
}

function bundleKeys(token: Buffer, salt: Buffer): { enc: Buffer; mac: Buffer } {
  const k = hkdfSm3(token, salt, INFO, 48);
  return { enc: k.subarray(0, 16), mac: k.subarray(16, 48) };
}

/** Seals the keys for the plugin under the token. */
export function exportPluginBundle(keys: PluginKey[], token: string | Buffer): string {
  if (keys.length > 0xffff) throw new PluginError("BAD_BUNDLE", "too many keys for one plugin bundle");
  const parts: Buffer[] = [Buffer.from([keys.length >> 8, keys.length & 0xff])];
  for (const k of keys) {
    const name = Buffer.from(k.name, "utf8");
    if (name.length === 0 || name.length > 255)
      throw new PluginError("BAD_BUNDLE", `key name "${k.name}" must be 1-255 bytes`);
    if (!Number.isInteger(k.keyId) || k.keyId < 0 || k.keyId > 0xffffffff) {
      throw new PluginError("BAD_BUNDLE", `key id ${k.keyId} is not an unsigned 32-bit integer`);
    }
    if (!Buffer.isBuffer(k.dek) || k.dek.length !== 16)
      throw new PluginError("BAD_BUNDLE", `key ${k.keyId}: DEK must be 16 bytes`);
    const head = Buffer.alloc(6);
    head.writeUInt32BE(k.keyId, 0);
    head[4] = k.state === "active" ? 1 : 2;
    head[5] = name.length;
    parts.push(head, name, k.dek);
  }
  const body = Buffer.concat(parts);
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const { enc, mac } = bundleKeys(tokenBytes(token), salt);
  const ct = sm4Ctr(enc, iv, body);
  body.fill(0);
  const signed = Buffer.concat([MAGIC, Buffer.from([1]), salt, iv, ct]);
  const tag = new HmacSm3(mac).mac16(signed);
  enc.fill(0);
  mac.fill(0);
  return BUNDLE_TEXT_PREFIX + Buffer.concat([signed, tag]).toString("base64url");
}

/** Opens a bundle (the TypeScript twin of smg_keyring_open; used by tests and `smgate plugin` checks). */
export function openPluginBundle(text: string, token: string | Buffer): PluginKey[] {
  if (!text.startsWith(BUNDLE_TEXT_PREFIX))
    throw new PluginError("BAD_BUNDLE", `key bundle must start with "${BUNDLE_TEXT_PREFIX}"`);
  const bin = Buffer.from(text.slice(BUNDLE_TEXT_PREFIX.length), "base64url");
  if (bin.length < HEADER + 2 + TAG || !bin.subarray(0, 4).equals(MAGIC) || bin[4] !== 1) {
    throw new PluginError("BAD_BUNDLE", "key bundle is malformed");
  }
  const { enc, mac } = bundleKeys(tokenBytes(token), bin.subarray(5, 21));
  const tag = new HmacSm3(mac).mac16(bin.subarray(0, bin.length - TAG));
  if (!timingSafeEqual(tag, bin.subarray(bin.length - TAG))) {
    throw new PluginError("BAD_TOKEN", "key bundle does not open with this token (wrong token or tampered bundle)");
  }
  const body = sm4Ctr(enc, bin.subarray(21, 37), bin.subarray(HEADER, bin.length - TAG));
  const count = body.readUInt16BE(0);
  const keys: PluginKey[] = [];
  let off = 2;
  for (let i = 0; i < count; i++) {
    if (off + 6 > body.length) throw new PluginError("BAD_BUNDLE", "key bundle is malformed");
    const keyId = body.readUInt32BE(off);
    const state = body[off + 4] === 1 ? "active" : "decrypt-only";
    const nl = body[off + 5];
    off += 6;
    if (off + nl + 16 > body.length) throw new PluginError("BAD_BUNDLE", "key bundle is malformed");
    const name = body.subarray(off, off + nl).toString("utf8");
    const dek = Buffer.from(body.subarray(off + nl, off + nl + 16));
    off += nl + 16;
    keys.push({ keyId, name, state, dek });
  }
  body.fill(0);
  if (off !== body.length) throw new PluginError("BAD_BUNDLE", "key bundle is malformed");
  return keys;
}
