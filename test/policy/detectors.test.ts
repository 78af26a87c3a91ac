// Detector and check-character unit tests with published examples: GB 11643-1999's sample numbers, a widely
// published valid unified social credit code, and the card networks' public test numbers for Luhn.
import { describe, expect, it } from "vitest";
import {
  gb11643CheckChar,
  gb11643Valid,
  gb32100CheckChar,
  gb32100Valid,
  luhnCheckDigit,
  luhnValid,
} from "../../policy/discovery/checksums.js";
import {
  bankCardDetector,
  cnIdDetector,
  cnMobileDetector,
  emailDetector,
  landlineDetector,
  passportDetector,
  usccDetector,
} from "../../policy/discovery/detectors.js";
import * as g from "./sensitive-data-generators.js";

describe("GB 11643 resident ID check character", () => {
  it("validates the standard's examples", () => {
    expect(gb11643CheckChar("11010519491231002")).toBe("X");
    expect(gb11643Valid("11010519491231002X")).toBe(true);
    expect(gb11643Valid("11010519491231002x")).toBe(true);
    expect(gb11643Valid("440524188001010014")).toBe(true);
    expect(gb11643Valid("110105194912310021")).toBe(false);
  });
  it("agrees with the test generator's independent MOD 11-2 implementation", () => {
    const r = g.rng(1);
    for (let i = 0; i < 500; i++) {
      expect(gb11643Valid(g.validCnId(r))).toBe(true);
      expect(gb11643Valid(g.wrongCheckCnId(r))).toBe(false);
    }
  });
});

describe("GB 32100 unified social credit code", () => {
  it("validates a published code and rejects a changed check character", () => {
    expect(gb32100CheckChar("91350100M000100Y4")).toBe("3");
    expect(gb32100Valid("91350100M000100Y43")).toBe(true);
    expect(gb32100Valid("91350100M000100Y44")).toBe(false);
    expect(gb32100Valid("91350100I000100Y43")).toBe(false); // I is not in the charset
  });
  it("agrees with the generator's 3^i mod 31 weights", () => {
    const r = g.rng(2);
    for (let i = 0; i < 500; i++) expect(gb32100Valid(g.validUscc(r))).toBe(true);
  });
});

describe("Luhn", () => {
  it.each(["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "6200000000000005"])(
    "%s is valid",
    (n) => {
      expect(luhnValid(n)).toBe(true);
      expect(luhnCheckDigit(n.slice(0, -1))).toBe(n.slice(-1));
    },
  );
  it("rejects a changed digit", () => {
    expect(luhnValid("4111111111111112")).toBe(false);
    const r = g.rng(3);
    for (let i = 0; i < 300; i++) {
      expect(luhnValid(g.validCard(r))).toBe(true);
      expect(luhnValid(g.luhnFailCard(r))).toBe(false);
    }
  });
});

describe("detectors", () => {
  it.each([
    [
      cnIdDetector,
      ["11010519491231002X", "440524188001010014"],
      ["110105194912310021", "11010519491331002X", "1101051949123100", "abc"],
    ],
    [
      cnMobileDetector,
      ["13812345678", "+86 138 1234 5678", "0086-19912345678"],
      ["12812345678", "1381234567", "23812345678"],
    ],
    [
      bankCardDetector,
      ["6222021234567890128", "4111 1111 1111 1111", "378282246310005"],
      ["4111111111111112", "1111111111111117", "123"],
    ],
    [usccDetector, ["91350100M000100Y43"], ["91350100M000100Y44", "91350100M000100Z43"]],
    [emailDetector, ["a.b+c@example.com", "zhang@mail.cn"], ["a@b", "@example.com", "a b@example.com"]],
    [passportDetector, ["E12345678", "EA1234567", "G12345678", "D1234567"], ["E1234567", "X12345678", "EI1234567"]],
    [
      landlineDetector,
      ["010-62345678", "0755-2345678", "(021)62345678", "02862345678"],
      ["62345678", "13812345678", "010-12345678"],
    ],
  ] as const)("$name", (d, yes, no) => {
    for (const v of yes) expect(d.test(v), `${d.name} ${v}`).toBe(true);
    for (const v of no) expect(d.test(v), `${d.name} ${v}`).toBe(false);
  });
});
