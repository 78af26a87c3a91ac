// Batch decoding of envelope texts from bytes (crypto/envelope-text-bytes.ts) accepts and refuses exactly
// what envelopeFromText does, and returns the same envelopes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { envelopeFromText, envelopeToText } from "../../crypto/envelope-text.js";
import { envelopesFromTextBytes } from "../../crypto/envelope-text-bytes.js";
import { CryptoError } from "../../crypto/errors.js";

function viaString(s: string): Buffer | "refused" {
  try {
    return envelopeFromText(s);
  } catch (e) {
    expect(e).toBeInstanceOf(CryptoError);
    return "refused";
  }
}

function viaBytes(s: string): Buffer | "refused" {
  try {
    return envelopesFromTextBytes([Buffer.from(s, "latin1")])[0];
  } catch (e) {
    expect((e as CryptoError).code).toBe("BAD_ENVELOPE");
    return "refused";
  }
}

describe("envelopesFromTextBytes", () => {
  it("round-trips envelopes of every length, many in one batch", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 90 }), { minLength: 1, maxLength: 20 }), (envs) => {
        const texts = envs.map((e) => Buffer.from(envelopeToText(Buffer.from(e)), "latin1"));
        expect(envelopesFromTextBytes(texts).map((b) => [...b])).toEqual(envs.map((e) => [...e]));
      }),
      { numRuns: 200 },
    );
  });

  it("agrees with envelopeFromText on arbitrary and near-miss texts (prefix, alphabet, padding, trailing bits)", () => {
    const body = fc.string({ unit: fc.constantFrom(..."AQRgwABab09-_=+/$ é".split("")), maxLength: 12 });
    fc.assert(
      fc.property(fc.constantFrom("smg1:", "smg1", "SMG1:", "", "smg2:"), body, (prefix, b) => {
        const s = prefix + b;
        const a = viaString(s);
        const c = viaBytes(s);
        if (a === "refused") expect(c).toBe("refused");
        else expect(c === "refused" ? c : [...c]).toEqual([...a]);
      }),
      { numRuns: 2000 },
    );
    for (const s of ["smg1:AR", "smg1:AQ", "smg1:A", "smg1:AAB", "smg1:AAE", "smg1:", "smg1:AA=="]) {
      const a = viaString(s);
      const c = viaBytes(s);
      expect(a === "refused" ? a : [...a]).toEqual(c === "refused" ? c : [...c]);
    }
  });

  it("names the batch position of a bad text", () => {
    const good = Buffer.from(envelopeToText(Buffer.from([1, 2, 3])), "latin1");
    expect(() => envelopesFromTextBytes([good, Buffer.from("plain")])).toThrow(/value 1/);
  });
});
