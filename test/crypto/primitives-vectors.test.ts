// Standard vectors (GB/T 32907 SM4, GB/T 32905 SM3, GM/T 0042 HMAC-SM3) against crypto/.
import { createCipheriv } from "node:crypto";
import { describe, expect, it } from "vitest";
import { HmacSm3 } from "../../crypto/hmac-sm3.js";
import { sm3 } from "../../crypto/sm3.js";
import { sm4EcbDecrypt, sm4EcbEncrypt } from "../../crypto/sm4.js";
import { vectors } from "./oracle.js";

const hex = (s: string) => Buffer.from(s, "hex");

interface Sm4Case {
  name: string;
  key: string;
  plaintext: string;
  ciphertext: string;
  iterations?: number;
}
const sm4v = vectors<{ cases: Sm4Case[] }>("sm4.json").cases;
const sm3v = vectors<{ cases: { name: string; message_ascii: string; digest: string }[] }>("sm3.json").cases;
const hmacv = vectors<{ cases: { name: string; key: string; message_ascii: string; mac: string }[] }>(
  "hmac-sm3.json",
).cases;

describe("SM4 (GB/T 32907-2016 Appendix A)", () => {
  for (const c of sm4v) {
    it(`${c.name}`, () => {
      const key = hex(c.key);
      let block: Buffer = hex(c.plaintext);
      const n = c.iterations ?? 1;
      for (let i = 0; i < n; i++) block = sm4EcbEncrypt(key, block);
      expect(block.toString("hex")).toBe(c.ciphertext);
      if (n === 1) expect(sm4EcbDecrypt(key, block).toString("hex")).toBe(c.plaintext);
    });
  }

  it("reused cached ECB cipher gives the same bytes as a fresh OpenSSL cipher on every call", () => {
    const key = hex(sm4v[0].key);
    for (let n = 1; n <= 5; n++) {
      const data = Buffer.alloc(16 * n * 7, n);
      const fresh = createCipheriv("sm4-ecb", key, null).setAutoPadding(false).update(data);
      expect(sm4EcbEncrypt(key, data).equals(fresh)).toBe(true);
      expect(sm4EcbDecrypt(key, fresh).equals(data)).toBe(true);
    }
  });

  it("picks up a key buffer modified in place instead of using a stale cached cipher", () => {
    const key = hex(sm4v[0].key);
    const block = hex(sm4v[0].plaintext);
    const a = sm4EcbEncrypt(key, block);
    key[0] ^= 1;
    const b = sm4EcbEncrypt(key, block);
    expect(b.equals(a)).toBe(false);
    expect(b.equals(createCipheriv("sm4-ecb", key, null).setAutoPadding(false).update(block))).toBe(true);
  });

  it("rejects wrong key or block sizes with CryptoError BAD_INPUT", () => {
    expect(() => sm4EcbEncrypt(Buffer.alloc(15), Buffer.alloc(16))).toThrow(
      expect.objectContaining({ code: "BAD_INPUT" }),
    );
    expect(() => sm4EcbEncrypt(Buffer.alloc(16), Buffer.alloc(17))).toThrow(
      expect.objectContaining({ code: "BAD_INPUT" }),
    );
  });
});

describe("SM3 (GB/T 32905-2016 Appendix A)", () => {
  for (const c of sm3v) {
    it(c.name, () => {
      expect(sm3(Buffer.from(c.message_ascii, "ascii")).toString("hex")).toBe(c.digest);
      // split into parts
      const m = Buffer.from(c.message_ascii, "ascii");
      expect(sm3(m.subarray(0, 1), m.subarray(1)).toString("hex")).toBe(c.digest);
    });
  }
});

describe("HMAC-SM3 (GM/T 0042-2015 D.3)", () => {
  for (const c of hmacv) {
    it(c.name, () => {
      const h = new HmacSm3(hex(c.key));
      const m = Buffer.from(c.message_ascii, "ascii");
      expect(h.mac(m).toString("hex")).toBe(c.mac);
      expect(h.mac16(m.subarray(0, 50), m.subarray(50)).toString("hex")).toBe(c.mac.slice(0, 32));
      // streaming with odd splits, reused instance
      h.begin();
      for (let i = 0; i < m.length; i += 7) h.update(m, i, Math.min(7, m.length - i));
      const out = Buffer.alloc(32);
      h.finishInto(out, 0, 32);
      expect(out.toString("hex")).toBe(c.mac);
    });
  }
});
