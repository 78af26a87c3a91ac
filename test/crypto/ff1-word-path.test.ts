// FF1's word fast path (small domains whose round input after the common prefix is one block, given a
// WordCipher) against the straight-line reference and the buffer path: every radix/length/tweak length
// combination, encryption and decryption, mixed lengths in one batch.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Ff1 } from "../../crypto/ff1.js";
import { ff1Sm4 } from "../../crypto/fpe/index.js";
import { sm4EcbEncrypt } from "../../crypto/sm4.js";
import { Sm4Encryptor } from "../../crypto/sm4-tables.js";
import { refFf1 } from "./ff1-reference.js";

const key = Buffer.from("00112233445566778899aabbccddeeff", "hex");
const blocks = (b: Buffer) => sm4EcbEncrypt(key, b);
const sm4 = new Sm4Encryptor(key);

describe("FF1 word fast path", () => {
  it("equals the reference and the buffer path (radix, lengths, tweak lengths, both directions)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2, 10, 16, 36, 62, 256),
        fc.uint8Array({ maxLength: 48 }),
        fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 8 }),
        fc.integer(),
        (radix, tweak, extraLens, seed) => {
          const fast = new Ff1(blocks, radix, (x, n) => sm4.encryptWordBlocks(x, n));
          const slow = new Ff1(blocks, radix);
          const xs = extraLens.map((e, j) =>
            Uint8Array.from({ length: fast.minLength + e }, (_, k) => Math.abs(seed * 31 + j * 17 + k * 7) % radix),
          );
          const tw = Buffer.from(tweak);
          const cts = fast.encrypt(tw, xs);
          expect(cts.map((z) => [...z])).toEqual(slow.encrypt(tw, xs).map((z) => [...z]));
          xs.forEach((x, j) => {
            expect([...cts[j]]).toEqual(refFf1("sm4-ecb", key, radix, tw, [...x]));
          });
          expect(fast.decrypt(tw, cts).map((z) => [...z])).toEqual(xs.map((x) => [...x]));
        },
      ),
      { numRuns: 80 },
    );
  });

  it("takes the word path for one-block round inputs (10 word-cipher blocks per value)", () => {
    let calls = 0;
    const f = new Ff1(blocks, 10, (x, n) => {
      calls += n;
      sm4.encryptWordBlocks(x, n);
    });
    const xs = [Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), Uint8Array.from([8, 7, 6, 5, 4, 3, 2, 1])];
    const tweak = Buffer.from("public.bench_people.mobile", "utf8");
    const cts = f.encrypt(tweak, xs);
    expect(calls).toBe(20);
    cts.forEach((ct, j) => {
      expect([...ct]).toEqual(refFf1("sm4-ecb", key, 10, tweak, [...xs[j]]));
    });
  });

  it("the FPE engine (ff1Sm4) uses the same permutation as the reference for an 8-digit cn-mobile middle", () => {
    const engine = ff1Sm4(key, 10);
    const tweak = Buffer.from("public.bench_people.mobile", "utf8");
    const x = Uint8Array.from([0, 0, 0, 0, 1, 2, 3, 4]);
    const [ct] = engine.encrypt(tweak, [x]);
    expect([...ct]).toEqual(refFf1("sm4-ecb", key, 10, tweak, [...x]));
    expect([...engine.decrypt(tweak, [ct])[0]]).toEqual([...x]);
  });
});
