// FF1: NIST SP 800-38G AES samples, the batched engine against the straight-line reference on random inputs
// (AES and SM4, small-number and BigInt paths, many lengths in one batch), and domain/radix refusals.
import { createCipheriv } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CryptoError } from "../../crypto/errors.js";
import { Ff1 } from "../../crypto/ff1.js";
import { sm4EcbEncrypt } from "../../crypto/sm4.js";
import { refFf1 } from "./ff1-reference.js";
import { vectors } from "./oracle.js";

const ALPH = "0123456789abcdefghijklmnopqrstuvwxyz";
const toNum = (s: string) => Uint8Array.from([...s].map((c) => ALPH.indexOf(c)));
const toStr = (x: Uint8Array) => [...x].map((d) => ALPH[d]).join("");

interface Ff1Case {
  name: string;
  radix: number;
  tweak: string;
  plaintext: string;
  ciphertext: string;
}
const nist = vectors<{ key: string; cases: Ff1Case[] }>("ff1-aes.json");
const aesKey = Buffer.from(nist.key, "hex");
const aes = (blocks: Buffer) => createCipheriv("aes-128-ecb", aesKey, null).setAutoPadding(false).update(blocks);

describe("FF1 NIST SP 800-38G samples (AES-128)", () => {
  for (const c of nist.cases) {
    it(c.name, () => {
      const f = new Ff1(aes, c.radix);
      const tweak = Buffer.from(c.tweak, "hex");
      const [ct] = f.encrypt(tweak, [toNum(c.plaintext)]);
      expect(toStr(ct)).toBe(c.ciphertext);
      const [pt] = f.decrypt(tweak, [ct]);
      expect(toStr(pt)).toBe(c.plaintext);
      // the same sample inside a batch of other values gives the same result
      const batch = [toNum(c.plaintext.split("").reverse().join("")), toNum(c.plaintext), toNum(c.plaintext)];
      expect(f.encrypt(tweak, batch).map(toStr).slice(1)).toEqual([c.ciphertext, c.ciphertext]);
    });
  }
});

describe("batched FF1 equals the straight-line reference", () => {
  const sm4Key = Buffer.from("0123456789abcdeffedcba9876543210", "hex");
  for (const [name, algo, key, cipher] of [
    ["AES", "aes-128-ecb", aesKey, aes],
    ["SM4", "sm4-ecb", sm4Key, (b: Buffer) => sm4EcbEncrypt(sm4Key, b)],
  ] as const) {
    it(`${name}: random radix, lengths, tweaks (small-number and BigInt paths)`, () => {
      fc.assert(
        fc.property(
          fc.constantFrom(2, 10, 26, 36, 62, 256),
          fc.uint8Array({ maxLength: 40 }),
          fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 6 }),
          fc.integer(),
          (radix, tweak, extraLens, seed) => {
            const f = new Ff1(cipher, radix);
            const xs = extraLens.map((e, j) => {
              const len = f.minLength + e;
              return Uint8Array.from({ length: len }, (_, k) => Math.abs(seed * 31 + j * 17 + k * 7) % radix);
            });
            const tw = Buffer.from(tweak);
            const cts = f.encrypt(tw, xs);
            xs.forEach((x, j) => {
              expect([...cts[j]]).toEqual(refFf1(algo, key, radix, tw, [...x]));
            });
            expect(f.decrypt(tw, cts).map((z) => [...z])).toEqual(xs.map((x) => [...x]));
          },
        ),
        { numRuns: 40 },
      );
    });
  }
});

describe("FF1 refusals", () => {
  it("refuses domains below 1,000,000 and digits ≥ radix with CryptoError FORMAT", () => {
    const f = new Ff1(aes, 10);
    expect(f.minLength).toBe(6);
    const err = (() => {
      try {
        f.encrypt(Buffer.alloc(0), [toNum("12345")]);
      } catch (e) {
        return e as CryptoError;
      }
    })();
    expect(err).toBeInstanceOf(CryptoError);
    expect(err?.code).toBe("FORMAT");
    expect(() => f.encrypt(Buffer.alloc(0), [Uint8Array.from([1, 2, 3, 4, 5, 10])])).toThrow(CryptoError);
    expect(new Ff1(aes, 62).minLength).toBe(4);
    expect(new Ff1(aes, 2).minLength).toBe(20);
    expect(() => new Ff1(aes, 1)).toThrow(CryptoError);
  });
});
