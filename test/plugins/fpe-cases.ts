// FPE cross-test cases: random values of every format with option combinations, including numeral strings
// long enough to take the C core's BIGNUM path (halves ≥ 2^100) as well as its 128-bit path.
import { randomBytes, randomInt } from "node:crypto";
import { cnIdCheckChar, luhnCheckDigit } from "../../crypto/fpe/check-chars.js";
import type { FpeFormatName, FpeOptions } from "../../crypto/fpe/index.js";

export interface FpeCase {
  format: FpeFormatName;
  opts: FpeOptions;
  values: string[];
}

const digits = (n: number): string => Array.from({ length: n }, () => String(randomInt(10))).join("");
const ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const alnum = (n: number): string => Array.from(randomBytes(n), (b) => ALNUM[b % 62]).join("");

function cnId(): string {
  const body = `110105${1950 + randomInt(60)}${String(1 + randomInt(12)).padStart(2, "0")}${String(1 + randomInt(28)).padStart(2, "0")}${digits(3)}`;
  return body + cnIdCheckChar(body);
}

function card(len: number): string {
  const payload = `622202${digits(len - 7)}`;
  return payload + luhnCheckDigit(payload);
}

export function fpeCases(perCase = 25): FpeCase[] {
  const many = <T>(f: () => T): T[] => Array.from({ length: perCase }, f);
  return [
    { format: "digits", opts: {}, values: many(() => digits(6 + randomInt(20))) },
    { format: "digits", opts: { keep_prefix: 2, keep_suffix: 3 }, values: many(() => digits(11 + randomInt(10))) },
    { format: "digits", opts: {}, values: many(() => digits(62 + randomInt(60))) }, // BIGNUM path
    { format: "alnum", opts: {}, values: many(() => alnum(4 + randomInt(20))) },
    { format: "alnum", opts: { keep_prefix: 1 }, values: many(() => alnum(34 + randomInt(30))) }, // BIGNUM path
    {
      format: "cn-id",
      opts: {},
      values: [...many(cnId), "11010519491231002X", "11010519491231002x", "440524188001010014"],
    },
    { format: "cn-id", opts: { keep_prefix: 0, keep_suffix: 4 }, values: many(cnId) },
    { format: "cn-mobile", opts: {}, values: many(() => `1${3 + randomInt(7)}${digits(9)}`) },
    { format: "cn-mobile", opts: { keep_prefix: 1, keep_suffix: 4 }, values: many(() => `13${digits(9)}`) },
    { format: "bank-card", opts: {}, values: many(() => card(16 + randomInt(4))) },
    { format: "bank-card", opts: { keep_suffix: 0 }, values: many(() => card(16 + randomInt(4))) },
    { format: "bank-card", opts: { keep_prefix: 4, keep_suffix: 1 }, values: many(() => card(12 + randomInt(8))) },
    {
      format: "integer",
      opts: { width: 10 },
      values: [...many(() => String(randomInt(-1e9, 1e9))), "0", "-0", "0007", "-1", "9999999999", "-9999999999"],
    },
    {
      format: "integer",
      opts: { width: 38 },
      values: many(() => `${randomInt(2) ? "-" : ""}${digits(1 + randomInt(38))}`),
    },
  ];
}
