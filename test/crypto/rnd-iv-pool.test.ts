// Randomized envelopes draw small batches' IVs from a pool (crypto/envelope.ts): every IV handed out is new —
// across many single-value and mixed-size batches spanning several pool refills — and envelopes still decrypt.
import { describe, expect, it } from "vitest";
import { deriveDataKey } from "../../crypto/data-key.js";
import { decryptEnvelopes, encryptRnd } from "../../crypto/envelope.js";

const key = deriveDataKey(9, Buffer.alloc(16, 5));
const AD = Buffer.from("public.t.note");

describe("RND IV pool", () => {
  it("never repeats an IV across batches and pool refills; envelopes round-trip", () => {
    const seen = new Set<string>();
    let count = 0;
    const sizes = [1, 1, 3, 1, 17, 64, 1, 65, 200, 1];
    for (let round = 0; round < 60; round++) {
      for (const size of sizes) {
        const pts = Array.from({ length: size }, (_, i) => Buffer.from(`v${round}.${i}`));
        const envs = encryptRnd(key, AD, pts);
        for (const e of envs) {
          seen.add(e.subarray(5, 21).toString("hex"));
          count++;
        }
        const back = decryptEnvelopes(() => key, AD, envs);
        expect(back.map((b) => b.toString())).toEqual(pts.map((b) => b.toString()));
      }
    }
    expect(count).toBeGreaterThan(20_000); // many 4 KiB pools worth of IVs
    expect(seen.size).toBe(count);
  });
});
