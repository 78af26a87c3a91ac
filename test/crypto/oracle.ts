// Independent oracle for tests: SM4/SM3/HMAC-SM3 from the pure-JS `sm-crypto` package, plus CTR and the
// envelope byte layouts rebuilt from SPEC §4 with BigInt counters. Nothing here imports crypto/.
import { readFileSync } from "node:fs";
import { sm3 as smSm3, sm4 as smSm4 } from "sm-crypto";

export function vectors<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), "utf8")) as T;
}

export function oSm4Ecb(key: Uint8Array, data: Uint8Array): Buffer {
  return Buffer.from(smSm4.encrypt(data, key, { padding: "none", output: "array" }));
}

export function oSm3(...parts: Uint8Array[]): Buffer {
  return Buffer.from(smSm3(Buffer.concat(parts)), "hex");
}

export function oHmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  return Buffer.from(smSm3(Buffer.concat(parts), { key, mode: "hmac" }), "hex");
}

/** OpenSSL-style CTR: counter = IV as a 128-bit BE integer, +1 per block (mod 2^128). */
export function oCtr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const nb = Math.ceil(data.length / 16);
  const counters = Buffer.alloc(nb * 16);
  let c = BigInt(`0x${Buffer.from(iv).toString("hex")}`);
  const mod = 1n << 128n;
  for (let i = 0; i < nb; i++) {
    counters.write(c.toString(16).padStart(32, "0"), i * 16, "hex");
    c = (c + 1n) % mod;
  }
  const ks = nb ? oSm4Ecb(key, counters) : Buffer.alloc(0);
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] ^ ks[i];
  return out;
}

function keyIdBytes(keyId: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(keyId);
  return b;
}

/** RND envelope per SPEC §4 from raw subkeys. */
export function oRnd(enc: Buffer, mac: Buffer, keyId: number, iv: Buffer, ad: Buffer, pt: Buffer): Buffer {
  const head = Buffer.concat([Buffer.from([1]), keyIdBytes(keyId), iv]);
  const ct = oCtr(enc, iv, pt);
  const tag = oHmac(mac, head, ad, ct).subarray(0, 16);
  return Buffer.concat([head, ct, tag]);
}

/** DET envelope per SPEC §4 from raw subkeys. */
export function oDet(enc: Buffer, siv: Buffer, keyId: number, ad: Buffer, pt: Buffer): Buffer {
  const s = oHmac(siv, ad, pt).subarray(0, 16);
  return Buffer.concat([Buffer.from([2]), keyIdBytes(keyId), s, oCtr(enc, s, pt)]);
}

/** RFC 5869 HKDF over the oracle HMAC-SM3. */
export function oHkdf(ikm: Buffer, salt: Buffer, info: Buffer, len: number): Buffer {
  const prk = oHmac(salt.length ? salt : Buffer.alloc(32), ikm);
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  for (let i = 1; out.length * 32 < len; i++) {
    t = oHmac(prk, t, info, Buffer.from([i]));
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, len);
}
