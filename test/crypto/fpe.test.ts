// FPE formats over FF1-SM4: GB 11643 vectors, round trips for every format with and without keep options,
// outputs stay in format (valid check characters, kept prefixes/suffixes), clear FORMAT errors without values.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deriveDataKey } from "../../crypto/data-key.js";
import { CryptoError } from "../../crypto/errors.js";
import { type FpeFormatName, type FpeOptions, fpeDecrypt, fpeEncrypt } from "../../crypto/fpe/index.js";
import { vectors } from "./oracle.js";

const key = deriveDataKey(7, Buffer.from("00112233445566778899aabbccddeeff", "hex"));
const AD = Buffer.from("public.people.id_no");
const cnv = vectors<{ weights: number[]; check_map: string; valid: string[]; invalid: string[] }>("cn-id.json");

// Independent check-character rules (from the vector file / the Luhn definition), not crypto/fpe's.
const cnCheck = (body: string) => cnv.check_map[[...body].reduce((s, c, i) => s + Number(c) * cnv.weights[i], 0) % 11];
const luhnOk = (s: string) =>
  [...s]
    .reverse()
    .map(Number)
    .reduce((sum, d, i) => sum + (i % 2 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d), 0) %
    10 ===
  0;
const withLuhn = (payload: string) => {
  for (let c = 0; c < 10; c++) if (luhnOk(payload + c)) return payload + c;
  throw new Error("unreachable");
};

const digitStr = (min: number, max: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((a) => a.join(""));
const ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const alnumStr = (min: number, max: number) =>
  fc
    .array(fc.integer({ min: 0, max: 61 }), { minLength: min, maxLength: max })
    .map((a) => a.map((d) => ALNUM[d]).join(""));
const cnId = digitStr(17, 17).map((b) => b + cnCheck(b));
const mobile = digitStr(10, 10).map((d) => `1${d}`);
const card = fc.integer({ min: 12, max: 19 }).chain((len) => digitStr(len - 1, len - 1).map(withLuhn));

function catchErr(f: () => unknown): CryptoError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CryptoError);
    return e as CryptoError;
  }
  throw new Error("expected a CryptoError");
}

function roundTrip(format: FpeFormatName, values: string[], opts?: FpeOptions): string[] {
  const ct = fpeEncrypt(key, AD, format, values, opts);
  expect(fpeDecrypt(key, AD, format, ct, opts)).toEqual(values);
  // deterministic, and batch composition does not matter
  expect(fpeEncrypt(key, AD, format, [...values].reverse(), opts)).toEqual([...ct].reverse());
  return ct;
}

describe("GB 11643 vectors", () => {
  it("accepts the valid IDs and refuses the invalid ones with FORMAT", () => {
    const ct = roundTrip(
      "cn-id",
      cnv.valid.map((v) => v.toUpperCase()),
    );
    expect(ct.every((c) => c.length === 18)).toBe(true);
    for (const bad of cnv.invalid) {
      const e = catchErr(() => fpeEncrypt(key, AD, "cn-id", [bad]));
      expect(e.code).toBe("FORMAT");
      expect(e.message).toContain("cn-id");
      expect(e.message).toContain("check character");
      expect(e.message).not.toContain(bad);
      expect(e.message).not.toContain(bad.slice(0, 6));
    }
  });
});

describe("round trips and format preservation", () => {
  it("digits (default and keep options)", () => {
    fc.assert(
      fc.property(fc.array(digitStr(6, 40), { minLength: 1, maxLength: 30 }), (vs) => {
        const ct = roundTrip("digits", vs);
        ct.forEach((c, i) => {
          expect(c).toMatch(/^[0-9]+$/);
          expect(c.length).toBe(vs[i].length);
        });
      }),
      { numRuns: 30 },
    );
    fc.assert(
      fc.property(fc.array(digitStr(10, 30), { minLength: 1, maxLength: 20 }), (vs) => {
        const ct = roundTrip("digits", vs, { keep_prefix: 2, keep_suffix: 2 });
        ct.forEach((c, i) => {
          expect(c.slice(0, 2)).toBe(vs[i].slice(0, 2));
          expect(c.slice(-2)).toBe(vs[i].slice(-2));
        });
      }),
      { numRuns: 30 },
    );
  });

  it("alnum keeps length and the 0-9a-zA-Z alphabet", () => {
    fc.assert(
      fc.property(fc.array(alnumStr(4, 40), { minLength: 1, maxLength: 30 }), (vs) => {
        const ct = roundTrip("alnum", vs);
        ct.forEach((c, i) => {
          expect(c).toMatch(/^[0-9a-zA-Z]+$/);
          expect(c.length).toBe(vs[i].length);
        });
        roundTrip(
          "alnum",
          vs.map((v) => `AB${v}`),
          { keep_prefix: 2 },
        ).forEach((c) => {
          expect(c.startsWith("AB")).toBe(true);
        });
      }),
      { numRuns: 30 },
    );
  });

  it("cn-id keeps the region prefix and has a valid check character", () => {
    fc.assert(
      fc.property(fc.array(cnId, { minLength: 1, maxLength: 30 }), (vs) => {
        const ct = roundTrip("cn-id", vs);
        ct.forEach((c, i) => {
          expect(c).toMatch(/^[0-9]{17}[0-9X]$/);
          expect(c.slice(0, 6)).toBe(vs[i].slice(0, 6));
          expect(c[17]).toBe(cnCheck(c.slice(0, 17)));
        });
        const ct2 = roundTrip("cn-id", vs, { keep_prefix: 0, keep_suffix: 3 });
        ct2.forEach((c, i) => {
          expect(c.slice(14, 17)).toBe(vs[i].slice(14, 17));
          expect(c[17]).toBe(cnCheck(c.slice(0, 17)));
        });
      }),
      { numRuns: 30 },
    );
  });

  it("cn-id accepts a lowercase x check character and outputs uppercase X", () => {
    const v = "11010519491231002x";
    const ct = fpeEncrypt(key, AD, "cn-id", [v]);
    expect(fpeDecrypt(key, AD, "cn-id", ct)).toEqual([v.toUpperCase()]);
  });

  it("cn-mobile keeps 1 + 2 digits (or keep_prefix) and stays 11 digits", () => {
    fc.assert(
      fc.property(fc.array(mobile, { minLength: 1, maxLength: 30 }), (vs) => {
        roundTrip("cn-mobile", vs).forEach((c, i) => {
          expect(c).toMatch(/^1[0-9]{10}$/);
          expect(c.slice(0, 3)).toBe(vs[i].slice(0, 3));
        });
        roundTrip("cn-mobile", vs, { keep_prefix: 1, keep_suffix: 4 }).forEach((c, i) => {
          expect(c[0]).toBe("1");
          expect(c.slice(-4)).toBe(vs[i].slice(-4));
        });
      }),
      { numRuns: 30 },
    );
  });

  it("bank-card keeps BIN and last 4 (cycle-walked Luhn) or recomputes the check digit with keep_suffix 0", () => {
    fc.assert(
      fc.property(
        fc.array(
          card.filter((c) => c.length >= 16),
          { minLength: 1, maxLength: 30 },
        ),
        (vs) => {
          roundTrip("bank-card", vs).forEach((c, i) => {
            expect(c.length).toBe(vs[i].length);
            expect(c.slice(0, 6)).toBe(vs[i].slice(0, 6));
            expect(c.slice(-4)).toBe(vs[i].slice(-4));
            expect(luhnOk(c)).toBe(true);
          });
          roundTrip("bank-card", vs, { keep_suffix: 0 }).forEach((c, i) => {
            expect(c.slice(0, 6)).toBe(vs[i].slice(0, 6));
            expect(luhnOk(c)).toBe(true);
          });
        },
      ),
      { numRuns: 30 },
    );
    fc.assert(
      fc.property(fc.array(card, { minLength: 1, maxLength: 20 }), (vs) => {
        roundTrip("bank-card", vs, { keep_prefix: 2, keep_suffix: 2 }).forEach((c) => {
          expect(luhnOk(c)).toBe(true);
        });
      }),
      { numRuns: 30 },
    );
  });

  it("integer with width: canonical text, sign kept, magnitude within width", () => {
    const intStr = (w: number) =>
      fc.bigInt({ min: -(10n ** BigInt(w) - 1n), max: 10n ** BigInt(w) - 1n }).map((b) => b.toString());
    for (const w of [6, 9, 18, 30]) {
      fc.assert(
        fc.property(fc.array(intStr(w), { minLength: 1, maxLength: 30 }), (vs) => {
          roundTrip("integer", vs, { width: w }).forEach((c, i) => {
            expect(c).toMatch(/^(0|-?[1-9][0-9]*)$/);
            expect(c.replace("-", "").length).toBeLessThanOrEqual(w);
            expect(c.startsWith("-")).toBe(vs[i].startsWith("-"));
          });
        }),
        { numRuns: 20 },
      );
    }
    // leading zeros and "-0" are read as their integer value
    const [a, b] = fpeEncrypt(key, AD, "integer", ["000123", "123"], { width: 6 });
    expect(a).toBe(b);
    expect(fpeEncrypt(key, AD, "integer", ["-0"], { width: 6 })).toEqual(
      fpeEncrypt(key, AD, "integer", ["0"], { width: 6 }),
    );
  });

  it("different associated data (column) gives different ciphertexts", () => {
    const vs = ["110105194912310021", "440524188001010014"].map((v) => v.slice(0, 17) + cnCheck(v.slice(0, 17)));
    const a = fpeEncrypt(key, AD, "cn-id", vs);
    const b = fpeEncrypt(key, Buffer.from("public.people.other"), "cn-id", vs);
    expect(a).not.toEqual(b);
  });
});

describe("FORMAT errors are clear and never contain the value", () => {
  const cases: [FpeFormatName, string, FpeOptions | undefined, RegExp][] = [
    ["digits", "12345", undefined, /at least 6/],
    ["digits", "12a4567", undefined, /outside 0-9/],
    ["alnum", "abc", undefined, /at least 4/],
    ["alnum", "abc-def", undefined, /outside 0-9a-zA-Z/],
    ["cn-id", "1101051949123100", undefined, /18 characters/],
    ["cn-id", "11010519491231002Y", undefined, /check character/],
    ["cn-mobile", "23800138000", undefined, /starts with 1/],
    ["cn-mobile", "1380013800", undefined, /11 digits/],
    ["bank-card", "6222021234567890124", undefined, /Luhn/],
    ["bank-card", withLuhn("37828224631000"), undefined, /at least 6/],
    ["integer", "12.5", { width: 8 }, /integer/],
    ["integer", "123456789", { width: 8 }, /more than the policy width/],
  ];
  for (const [format, value, opts, re] of cases) {
    it(`${format}: ${re}`, () => {
      const e = catchErr(() => fpeEncrypt(key, AD, format, ["", value].slice(1), opts));
      expect(e.code).toBe("FORMAT");
      expect(e.message).toMatch(re);
      expect(e.message).toContain(format);
      expect(e.message).not.toContain(value);
    });
  }

  it("refuses option combinations that shrink the domain below 1,000,000, and bad widths", () => {
    expect(catchErr(() => fpeEncrypt(key, AD, "cn-id", [], { keep_prefix: 12 })).message).toMatch(/at least 6/);
    expect(catchErr(() => fpeEncrypt(key, AD, "cn-mobile", [], { keep_prefix: 0 })).message).toMatch(/leading 1/);
    expect(catchErr(() => fpeEncrypt(key, AD, "integer", [], {})).message).toMatch(/width/);
    expect(catchErr(() => fpeEncrypt(key, AD, "integer", [], { width: 5 })).message).toMatch(/width/);
    expect(catchErr(() => fpeEncrypt(key, AD, "digits", [], { keep_prefix: -1 })).code).toBe("FORMAT");
    expect(catchErr(() => fpeEncrypt(key, AD, "nope" as FpeFormatName, [])).message).toMatch(/unknown format/);
  });
});
