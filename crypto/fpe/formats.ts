// FPE format rules: how a value of each format splits into kept characters and the numeral string FF1
// encrypts, and how the result is put back together (check characters recomputed or enforced by cycle-walking).
// docs/FORMAT.md restates these rules; messages name the format and batch position, never the value.
import { CryptoError } from "../errors.js";
import { cnIdCheckChar, luhnCheckDigit, luhnValid } from "./check-chars.js";

export type FpeFormatName = "digits" | "alnum" | "cn-id" | "cn-mobile" | "bank-card" | "integer";
export const FPE_FORMATS: readonly FpeFormatName[] = ["digits", "alnum", "cn-id", "cn-mobile", "bank-card", "integer"];

export interface FpeOptions {
  keep_prefix?: number;
  keep_suffix?: number;
  width?: number;
}

/** A parsed value: kept text around the numeral string that FF1 transforms. */
export interface Split {
  pre: string;
  mid: Uint8Array;
  post: string;
}

export interface FormatRule {
  radix: number;
  /** digit value → character */
  alphabet: string;
  split(value: string, i: number): Split;
  join(s: Split, mid: Uint8Array): string;
  /** Cycle-walking constraint: FF1 is re-applied until it holds (undefined: every output is valid). */
  valid?(s: Split, mid: Uint8Array): boolean;
}

export const DIGITS = "0123456789";
/** alnum digit order: 0-9 → 0..9, a-z → 10..35, A-Z → 36..61 (case is kept). */
export const ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
/** Smallest encrypted length: radix^len ≥ 1,000,000 (SP 800-38G rev1). */
const MIN_MID: Record<number, number> = { 10: 6, 62: 4 };

const ALNUM_VAL = new Int8Array(128).fill(-1);
for (let i = 0; i < ALNUM.length; i++) ALNUM_VAL[ALNUM.charCodeAt(i)] = i;

function fail(format: string, i: number, why: string): never {
  throw new CryptoError("FORMAT", `fpe ${format}: value ${i}: ${why}`);
}

function allDigits(s: string, from = 0, to = s.length): boolean {
  for (let k = from; k < to; k++) {
    const c = s.charCodeAt(k);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function digitsOf(s: string, from: number, to: number): Uint8Array {
  const m = new Uint8Array(to - from);
  for (let k = from; k < to; k++) m[k - from] = s.charCodeAt(k) - 48;
  return m;
}

function text(mid: Uint8Array, alphabet: string): string {
  let s = "";
  for (let k = 0; k < mid.length; k++) s += alphabet[mid[k]];
  return s;
}

function keepOpt(format: string, name: "keep_prefix" | "keep_suffix", v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 0) throw new CryptoError("FORMAT", `fpe ${format}: ${name} must be an integer ≥ 0`);
  return v;
}

function checkMid(format: string, radix: number, len: number, kp: number, ks: number, total: string): void {
  if (len < MIN_MID[radix]) {
    throw new CryptoError(
      "FORMAT",
      `fpe ${format}: keep_prefix ${kp} + keep_suffix ${ks} leave ${len} characters of ${total} to encrypt; FF1 needs at least ${MIN_MID[radix]} (domain ≥ 1,000,000)`,
    );
  }
}

function freeText(format: "digits" | "alnum", o: FpeOptions): FormatRule {
  const kp = keepOpt(format, "keep_prefix", o.keep_prefix, 0);
  const ks = keepOpt(format, "keep_suffix", o.keep_suffix, 0);
  const radix = format === "digits" ? 10 : 62;
  const alphabet = format === "digits" ? DIGITS : ALNUM;
  return {
    radix,
    alphabet,
    split(v, i) {
      const mid = new Uint8Array(Math.max(0, v.length - kp - ks));
      for (let k = 0; k < v.length; k++) {
        const c = v.charCodeAt(k);
        const d = c < 128 ? ALNUM_VAL[c] : -1;
        if (d < 0 || d >= radix)
          fail(format, i, `contains a character outside ${format === "digits" ? "0-9" : "0-9a-zA-Z"}`);
        if (k >= kp && k < v.length - ks) mid[k - kp] = d;
      }
      if (mid.length < MIN_MID[radix]) {
        fail(
          format,
          i,
          `${v.length} characters with keep_prefix ${kp} + keep_suffix ${ks} leave ${mid.length} to encrypt; at least ${MIN_MID[radix]} are needed`,
        );
      }
      return { pre: v.slice(0, kp), mid, post: v.slice(v.length - ks) };
    },
    join: (s, mid) => s.pre + text(mid, alphabet) + s.post,
  };
}

function cnId(o: FpeOptions): FormatRule {
  const kp = keepOpt("cn-id", "keep_prefix", o.keep_prefix, 6);
  const ks = keepOpt("cn-id", "keep_suffix", o.keep_suffix, 0);
  checkMid("cn-id", 10, 17 - kp - ks, kp, ks, "the 17-digit body");
  return {
    radix: 10,
    alphabet: DIGITS,
    split(v, i) {
      if (v.length !== 18) fail("cn-id", i, `expected 18 characters (17 digits + check character), got ${v.length}`);
      if (!allDigits(v, 0, 17)) fail("cn-id", i, "the first 17 characters must be digits");
      const c = v[17] === "x" ? "X" : v[17];
      if (c !== cnIdCheckChar(v)) fail("cn-id", i, "invalid GB 11643 check character");
      return { pre: v.slice(0, kp), mid: digitsOf(v, kp, 17 - ks), post: v.slice(17 - ks, 17) };
    },
    join(s, mid) {
      const body = s.pre + text(mid, DIGITS) + s.post;
      return body + cnIdCheckChar(body);
    },
  };
}

function cnMobile(o: FpeOptions): FormatRule {
  const kp = keepOpt("cn-mobile", "keep_prefix", o.keep_prefix, 3);
  const ks = keepOpt("cn-mobile", "keep_suffix", o.keep_suffix, 0);
  if (kp < 1) throw new CryptoError("FORMAT", "fpe cn-mobile: keep_prefix must be ≥ 1 so the leading 1 is kept");
  checkMid("cn-mobile", 10, 11 - kp - ks, kp, ks, "11 digits");
  return {
    radix: 10,
    alphabet: DIGITS,
    split(v, i) {
      if (v.length !== 11 || !allDigits(v)) fail("cn-mobile", i, `expected 11 digits, got ${v.length} characters`);
      if (v.charCodeAt(0) !== 49) fail("cn-mobile", i, "a mainland mobile number starts with 1");
      return { pre: v.slice(0, kp), mid: digitsOf(v, kp, 11 - ks), post: v.slice(11 - ks) };
    },
    join: (s, mid) => s.pre + text(mid, DIGITS) + s.post,
  };
}

function bankCard(o: FpeOptions): FormatRule {
  const kp = keepOpt("bank-card", "keep_prefix", o.keep_prefix, 6);
  const ks = keepOpt("bank-card", "keep_suffix", o.keep_suffix, 4);
  // keep_suffix ≥ 1 keeps the Luhn check digit: FF1 over digits [kp, len-ks), cycle-walked until Luhn holds.
  // keep_suffix = 0: FF1 over digits [kp, len-1) and the check digit is recomputed.
  const tailFixed = Math.max(ks, 1);
  const rule: FormatRule = {
    radix: 10,
    alphabet: DIGITS,
    split(v, i) {
      if (v.length < 12 || v.length > 19 || !allDigits(v)) {
        fail("bank-card", i, `expected 12..19 digits, got ${v.length} characters`);
      }
      if (!luhnValid(v)) fail("bank-card", i, "fails the Luhn check");
      const midLen = v.length - kp - tailFixed;
      if (midLen < 6) {
        fail(
          "bank-card",
          i,
          `${v.length} digits with keep_prefix ${kp} + keep_suffix ${ks} leave ${Math.max(0, midLen)} to encrypt; at least 6 are needed`,
        );
      }
      return { pre: v.slice(0, kp), mid: digitsOf(v, kp, kp + midLen), post: v.slice(kp + midLen) };
    },
    join(s, mid) {
      const payload = s.pre + text(mid, DIGITS) + (ks === 0 ? "" : s.post);
      return ks === 0 ? payload + luhnCheckDigit(payload) : payload;
    },
  };
  if (ks > 0) rule.valid = (s, mid) => luhnValid(s.pre + text(mid, DIGITS) + s.post);
  return rule;
}

function integer(o: FpeOptions): FormatRule {
  const w = o.width;
  if (o.keep_prefix !== undefined || o.keep_suffix !== undefined) {
    throw new CryptoError("FORMAT", "fpe integer: keep_prefix/keep_suffix are not supported (use width)");
  }
  if (w === undefined || !Number.isInteger(w) || w < 6 || w > 38) {
    throw new CryptoError("FORMAT", "fpe integer: width must be an integer 6..38 (FF1 needs 10^width ≥ 1,000,000)");
  }
  return {
    radix: 10,
    alphabet: DIGITS,
    split(v, i) {
      const neg = v.charCodeAt(0) === 45;
      const from = neg ? 1 : 0;
      if (v.length === from || !allDigits(v, from)) fail("integer", i, "expected an integer: optional '-' and digits");
      let k = from;
      while (k < v.length - 1 && v.charCodeAt(k) === 48) k++;
      const mag = v.slice(k);
      if (mag.length > w) fail("integer", i, `has ${mag.length} digits, more than the policy width ${w}`);
      const mid = new Uint8Array(w);
      for (let j = 0; j < mag.length; j++) mid[w - mag.length + j] = mag.charCodeAt(j) - 48;
      // "-0" is 0: the sign is kept only for non-zero values
      const isNeg = neg && mag !== "0";
      return { pre: isNeg ? "-" : "", mid, post: "" };
    },
    join(s, mid) {
      let k = 0;
      while (k < mid.length - 1 && mid[k] === 0) k++;
      return s.pre + text(mid.subarray(k), DIGITS);
    },
    // a negative value's magnitude must stay non-zero ("-0" is not an integer): cycle-walk over 1..10^w-1
    valid: (s, mid) => s.pre === "" || mid.some((d) => d !== 0),
  };
}

export function formatRule(format: FpeFormatName, opts: FpeOptions = {}): FormatRule {
  switch (format) {
    case "digits":
    case "alnum":
      return freeText(format, opts);
    case "cn-id":
      return cnId(opts);
    case "cn-mobile":
      return cnMobile(opts);
    case "bank-card":
      return bankCard(opts);
    case "integer":
      return integer(opts);
    default:
      throw new CryptoError("FORMAT", `fpe: unknown format "${String(format)}" (known: ${FPE_FORMATS.join(", ")})`);
  }
}
