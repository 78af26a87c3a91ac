// The JS T-table SM4 (crypto/sm4-tables.ts) against OpenSSL sm4-ecb: the GB/T 32907 sample, random keys and
// blocks, the 4-word in-place form, in-place buffer encryption, and the per-key cache noticing a mutated key.
import { createCipheriv, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Sm4Encryptor, sm4Encryptor } from "../../crypto/sm4-tables.js";

const openssl = (key: Buffer, data: Buffer) => createCipheriv("sm4-ecb", key, null).setAutoPadding(false).update(data);

describe("JS SM4 (T-tables)", () => {
  it("matches the GB/T 32907-2016 example", () => {
    const key = Buffer.from("0123456789abcdeffedcba9876543210", "hex");
    const out = Buffer.alloc(16);
    new Sm4Encryptor(key).encryptBlocks(key, 0, out, 0, 1);
    expect(out.toString("hex")).toBe("681edf34d206965e86b3e94f536e4246");
  });

  it("equals OpenSSL sm4-ecb on random keys and blocks (buffers, offsets, words, in place)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 7 }),
        (k, blocks, off) => {
          const key = Buffer.from(k);
          const data = randomBytes(16 * blocks);
          const want = openssl(key, data);
          const e = new Sm4Encryptor(key);
          const dst = Buffer.alloc(off + data.length);
          const src = Buffer.concat([Buffer.alloc(off), data]);
          e.encryptBlocks(src, off, dst, off, blocks);
          expect(dst.subarray(off).equals(want)).toBe(true);
          const inPlace = Buffer.from(data);
          e.encryptBlocks(inPlace, 0, inPlace, 0, blocks);
          expect(inPlace.equals(want)).toBe(true);
          const w = new Int32Array(4);
          for (let i = 0; i < 4; i++) w[i] = data.readInt32BE(4 * i);
          e.encryptWords(w);
          const first = Buffer.alloc(16);
          for (let i = 0; i < 4; i++) first.writeInt32BE(w[i], 4 * i);
          expect(first.equals(want.subarray(0, 16))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("caches per key buffer and re-derives when the key bytes change in place; refuses bad key sizes", () => {
    const key = randomBytes(16);
    const a = sm4Encryptor(key);
    expect(sm4Encryptor(key)).toBe(a);
    key[0] ^= 1;
    const b = sm4Encryptor(key);
    expect(b).not.toBe(a);
    const block = randomBytes(16);
    const out = Buffer.alloc(16);
    b.encryptBlocks(block, 0, out, 0, 1);
    expect(out.equals(openssl(key, block))).toBe(true);
    expect(() => new Sm4Encryptor(Buffer.alloc(15))).toThrow(/16 bytes/);
  });
});
