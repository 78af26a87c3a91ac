// Data envelope v1 (SPEC §4), batch API.
//   RND  01 ‖ keyid(4,BE) ‖ iv(16)  ‖ ct ‖ tag(16),  tag = HMAC-SM3(mac, 01‖keyid‖iv‖AD‖ct)[:16]
//   DET  02 ‖ keyid(4,BE) ‖ siv(16) ‖ ct,            siv = HMAC-SM3(siv, AD‖pt)[:16]
//   ct = SM4-CTR(enc, iv|siv, pt) with OpenSSL counter semantics.
// All fields of a batch share one SM4-ECB call for their keystream and one output slab.
import { randomFillSync } from "node:crypto";
import { blocksFor, counterScratch, keystreamFor, writeCounters, xorInto } from "./ctr-keystream.js";
import type { DataKey } from "./data-key.js";
import { CryptoError } from "./errors.js";

export { envelopeFromText, envelopeToText, isEnvelopeText } from "./envelope-text.js";

export const VERSION_RND = 0x01;
export const VERSION_DET = 0x02;
const HEADER = 21; // version + keyid + iv/siv
const TAG = 16;

export interface RndOptions {
  /**
   * Test-vector hook ONLY: returns n*16 bytes of IVs for a batch of n. Production paths never pass it; the
   * default draws IVs from crypto.randomFillSync (OpenSSL DRBG).
   */
  ivSource?: (n: number) => Buffer;
}

let ivScratch = Buffer.allocUnsafe(16 * 1024);
const tagScratch = Buffer.allocUnsafe(16);

// Small batches (a single-row INSERT encrypts one value per column) take their IVs from a pool filled by one
// randomFillSync call per 256 IVs: a call costs microseconds, far more than the encryption of one field.
// Every pool byte is handed out once; the pool is refilled (never reused) when exhausted, and discarded if
// the process id changed (a forked copy must not hand out the parent's bytes).
const IV_POOL_BYTES = 4096;
const ivPool = Buffer.allocUnsafe(IV_POOL_BYTES);
let ivPoolPos = IV_POOL_BYTES;
let ivPoolPid = -1;

function randomIvs(n: number): Buffer {
  const bytes = n * 16;
  if (bytes <= IV_POOL_BYTES / 4) {
    if (ivPoolPos + bytes > IV_POOL_BYTES || ivPoolPid !== process.pid) {
      randomFillSync(ivPool);
      ivPoolPos = 0;
      ivPoolPid = process.pid;
    }
    const ivs = ivPool.subarray(ivPoolPos, ivPoolPos + bytes);
    ivPoolPos += bytes;
    return ivs;
  }
  if (ivScratch.length < bytes) ivScratch = Buffer.allocUnsafe(bytes * 2);
  return randomFillSync(ivScratch, 0, bytes);
}

function checkBatch(key: DataKey, ad: Buffer, pts: Buffer[]): void {
  if (!key || !Buffer.isBuffer(key.enc)) throw new CryptoError("BAD_INPUT", "encrypt: no data key given");
  if (!Buffer.isBuffer(ad)) throw new CryptoError("BAD_INPUT", "encrypt: associated data must be a Buffer");
  if (!Array.isArray(pts)) throw new CryptoError("BAD_INPUT", "encrypt: plaintexts must be an array of Buffers");
  for (let i = 0; i < pts.length; i++) {
    if (!(pts[i] instanceof Uint8Array)) throw new CryptoError("BAD_INPUT", `encrypt: plaintext ${i} is not a Buffer`);
  }
}

function writeKeyId(dst: Buffer, off: number, keyId: number): void {
  dst[off] = keyId >>> 24;
  dst[off + 1] = keyId >>> 16;
  dst[off + 2] = keyId >>> 8;
  dst[off + 3] = keyId;
}

/** Randomized envelopes for a batch of plaintexts of one column (AD). */
export function encryptRnd(key: DataKey, ad: Buffer, pts: Buffer[], opts?: RndOptions): Buffer[] {
  checkBatch(key, ad, pts);
  const n = pts.length;
  const ivs = opts?.ivSource ? opts.ivSource(n) : randomIvs(n);
  if (ivs.length < n * 16) throw new CryptoError("BAD_INPUT", "encryptRnd: ivSource returned too few bytes");
  let total = 0;
  let blocks = 0;
  for (let i = 0; i < n; i++) {
    total += HEADER + pts[i].length + TAG;
    blocks += blocksFor(pts[i].length);
  }
  const slab = Buffer.allocUnsafe(total);
  const cs = counterScratch(blocks * 16);
  let pos = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    slab[o] = VERSION_RND;
    writeKeyId(slab, o + 1, key.keyId);
    for (let j = 0; j < 16; j++) slab[o + 5 + j] = ivs[16 * i + j];
    pos = writeCounters(cs, pos, ivs, 16 * i, blocksFor(pts[i].length));
    o += HEADER + pts[i].length + TAG;
  }
  const ks = keystreamFor(key.enc, cs, pos);
  const mac = key.mac;
  const out: Buffer[] = new Array(n);
  o = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const len = pts[i].length;
    xorInto(slab, o + HEADER, pts[i], 0, ks, k, len);
    mac.begin();
    mac.update(slab, o, HEADER);
    mac.update(ad, 0, ad.length);
    mac.update(slab, o + HEADER, len);
    mac.finishInto(slab, o + HEADER + len, TAG);
    out[i] = slab.subarray(o, o + HEADER + len + TAG);
    o += HEADER + len + TAG;
    k += blocksFor(len) * 16;
  }
  return out;
}

/** Deterministic (SIV) envelopes: equal plaintexts in one column (AD) give equal envelopes. */
export function encryptDet(key: DataKey, ad: Buffer, pts: Buffer[]): Buffer[] {
  checkBatch(key, ad, pts);
  const n = pts.length;
  let total = 0;
  let blocks = 0;
  for (let i = 0; i < n; i++) {
    total += HEADER + pts[i].length;
    blocks += blocksFor(pts[i].length);
  }
  const slab = Buffer.allocUnsafe(total);
  const cs = counterScratch(blocks * 16);
  const siv = key.siv;
  let pos = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const pt = pts[i];
    slab[o] = VERSION_DET;
    writeKeyId(slab, o + 1, key.keyId);
    siv.begin();
    siv.update(ad, 0, ad.length);
    siv.update(pt, 0, pt.length);
    siv.finishInto(slab, o + 5, 16);
    pos = writeCounters(cs, pos, slab, o + 5, blocksFor(pt.length));
    o += HEADER + pt.length;
  }
  const ks = keystreamFor(key.enc, cs, pos);
  const out: Buffer[] = new Array(n);
  o = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const len = pts[i].length;
    xorInto(slab, o + HEADER, pts[i], 0, ks, k, len);
    out[i] = slab.subarray(o, o + HEADER + len);
    o += HEADER + len;
    k += blocksFor(len) * 16;
  }
  return out;
}

/** Key id of an envelope (without verifying it). */
export function envelopeKeyId(env: Buffer): number {
  if (!(env instanceof Uint8Array) || env.length < HEADER || (env[0] !== VERSION_RND && env[0] !== VERSION_DET)) {
    throw new CryptoError("BAD_ENVELOPE", "not a smgate v1 envelope");
  }
  return ((env[1] << 24) | (env[2] << 16) | (env[3] << 8) | env[4]) >>> 0;
}

function resolveKey(resolve: (keyId: number) => DataKey, keyId: number, i: number): DataKey {
  let key: DataKey | undefined;
  try {
    key = resolve(keyId);
  } catch (e) {
    if (e instanceof CryptoError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    // the key ring's error code when it has one (keystore KeyUnavailableError), else its wording
    const code = (e as { code?: unknown } | null)?.code;
    const destroyed = code === "KEY_DESTROYED" || (code === undefined && /destroy/i.test(msg));
    throw new CryptoError(destroyed ? "KEY_DESTROYED" : "UNKNOWN_KEY", `envelope ${i}: key id ${keyId}: ${msg}`, {
      cause: e,
    });
  }
  if (!key || key.keyId !== keyId) {
    throw new CryptoError("UNKNOWN_KEY", `envelope ${i}: key id ${keyId} is not known to the key ring`);
  }
  return key;
}

/** Constant-time comparison of a[aOff..aOff+16) and b[bOff..bOff+16). */
function equal16(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  let d = 0;
  for (let j = 0; j < 16; j++) d |= a[aOff + j] ^ b[bOff + j];
  return d === 0;
}

/**
 * Decrypts a batch of envelopes of one column (AD); RND tags are checked before decryption, DET SIVs are
 * recomputed after. Any failure throws CryptoError naming the envelope's position in the batch.
 */
export function decryptEnvelopes(resolve: (keyId: number) => DataKey, ad: Buffer, envs: Buffer[]): Buffer[] {
  if (!Buffer.isBuffer(ad)) throw new CryptoError("BAD_INPUT", "decrypt: associated data must be a Buffer");
  const n = envs.length;
  const keys: DataKey[] = new Array(n);
  let total = 0;
  let lastId = -1;
  let lastKey: DataKey | undefined;
  let mixed = false;
  for (let i = 0; i < n; i++) {
    const env = envs[i];
    if (!(env instanceof Uint8Array)) throw new CryptoError("BAD_ENVELOPE", `envelope ${i}: not a Buffer`);
    const v = env[0];
    if (env.length < HEADER || (v !== VERSION_RND && v !== VERSION_DET)) {
      throw new CryptoError("BAD_ENVELOPE", `envelope ${i}: not a smgate v1 envelope (bad version or too short)`);
    }
    if (v === VERSION_RND && env.length < HEADER + TAG) {
      throw new CryptoError("BAD_ENVELOPE", `envelope ${i}: randomized envelope too short`);
    }
    const keyId = ((env[1] << 24) | (env[2] << 16) | (env[3] << 8) | env[4]) >>> 0;
    if (keyId !== lastId || lastKey === undefined) {
      if (lastKey !== undefined) mixed = true;
      lastKey = resolveKey(resolve, keyId, i);
      lastId = keyId;
    }
    const key = lastKey;
    keys[i] = key;
    if (v === VERSION_RND) {
      const ctLen = env.length - HEADER - TAG;
      const mac = key.mac;
      mac.begin();
      mac.update(env, 0, HEADER);
      mac.update(ad, 0, ad.length);
      mac.update(env, HEADER, ctLen);
      mac.finishInto(tagScratch, 0, TAG);
      if (!equal16(tagScratch, 0, env, HEADER + ctLen)) {
        throw new CryptoError(
          "BAD_TAG",
          `envelope ${i}: authentication failed (wrong column/associated data, wrong key, or tampered data)`,
        );
      }
      total += ctLen;
    } else {
      total += env.length - HEADER;
    }
  }
  const slab = Buffer.allocUnsafe(total);
  const out: Buffer[] = new Array(n);
  if (!mixed) {
    if (n > 0) decryptGroup(keys[0], envs, null, slab, out);
  } else {
    const groups = new Map<DataKey, number[]>();
    for (let i = 0; i < n; i++) {
      const g = groups.get(keys[i]);
      if (g) g.push(i);
      else groups.set(keys[i], [i]);
    }
    for (const [key, idx] of groups) decryptGroup(key, envs, idx, slab, out);
  }
  // DET: recompute the SIV over AD‖pt
  for (let i = 0; i < n; i++) {
    const env = envs[i];
    if (env[0] !== VERSION_DET) continue;
    const siv = keys[i].siv;
    const pt = out[i];
    siv.begin();
    siv.update(ad, 0, ad.length);
    siv.update(pt, 0, pt.length);
    siv.finishInto(tagScratch, 0, 16);
    if (!equal16(tagScratch, 0, env, 5)) {
      slab.fill(0);
      throw new CryptoError(
        "BAD_TAG",
        `envelope ${i}: deterministic envelope failed its SIV check (wrong column/associated data, wrong key, or tampered data)`,
      );
    }
  }
  return out;
}

function ctOffsets(env: Uint8Array): number {
  return env[0] === VERSION_RND ? env.length - HEADER - TAG : env.length - HEADER;
}

/** CTR-decrypts envs[idx] (all of them when idx is null) with one ECB call, into slab-backed outputs. */
function decryptGroup(key: DataKey, envs: Buffer[], idx: number[] | null, slab: Buffer, out: Buffer[]): void {
  const m = idx ? idx.length : envs.length;
  let blocks = 0;
  for (let t = 0; t < m; t++) blocks += blocksFor(ctOffsets(envs[idx ? idx[t] : t]));
  const cs = counterScratch(blocks * 16);
  let pos = 0;
  for (let t = 0; t < m; t++) {
    const env = envs[idx ? idx[t] : t];
    pos = writeCounters(cs, pos, env, 5, blocksFor(ctOffsets(env)));
  }
  const ks = keystreamFor(key.enc, cs, pos);
  // slab offsets: position of envelope i's plaintext = sum of ct lengths of envelopes before i
  let k = 0;
  if (idx === null) {
    let o = 0;
    for (let i = 0; i < m; i++) {
      const env = envs[i];
      const len = ctOffsets(env);
      xorInto(slab, o, env, HEADER, ks, k, len);
      out[i] = slab.subarray(o, o + len);
      o += len;
      k += blocksFor(len) * 16;
    }
    return;
  }
  const starts = slabStarts(envs);
  for (let t = 0; t < m; t++) {
    const i = idx[t];
    const env = envs[i];
    const len = ctOffsets(env);
    xorInto(slab, starts[i], env, HEADER, ks, k, len);
    out[i] = slab.subarray(starts[i], starts[i] + len);
    k += blocksFor(len) * 16;
  }
}

function slabStarts(envs: Buffer[]): number[] {
  const s: number[] = new Array(envs.length);
  let o = 0;
  for (let i = 0; i < envs.length; i++) {
    s[i] = o;
    o += ctOffsets(envs[i]);
  }
  return s;
}
