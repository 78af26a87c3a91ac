// Sensitive-data detectors: each says whether one value looks like its kind (pattern + check character where
// the kind has one) and which protection the draft policy should suggest for a column full of them.
import { gb11643Valid, gb32100Valid, luhnValid, plausibleBirthDate } from "./checksums.js";

/** Protection suggested for a detected column (written into the draft policy). */
export type Suggestion =
  | { protect: "fpe"; format: "cn-id" | "cn-mobile" | "bank-card" | "digits" | "alnum" }
  | { protect: "encrypt"; mode: "deterministic" | "randomized"; blind_index?: boolean };

export interface Detector {
  name: string;
  description: string;
  suggest: Suggestion;
  test(value: string): boolean;
}

export const VALIDATORS = {
  luhn: (v: string) => luhnValid(v.replace(/[\s-]/g, "")),
  gb11643: (v: string) => gb11643Valid(v),
  gb32100: (v: string) => gb32100Valid(v),
} as const;
export type ValidatorName = keyof typeof VALIDATORS;

const DET: Suggestion = { protect: "encrypt", mode: "deterministic" };

/** Strips separators and a +86 / 0086 country code from a phone number. */
function phoneDigits(v: string): string {
  let d = v.replace(/[\s\-()]/g, "");
  if (d.startsWith("+86")) d = d.slice(3);
  else if (d.startsWith("0086")) d = d.slice(4);
  return d;
}

export const cnIdDetector: Detector = {
  name: "cn-id",
  description: "resident identity number (GB 11643, 18 chars, valid birth date and check character)",
  suggest: { protect: "fpe", format: "cn-id" },
  test: (v) => /^[1-9]\d{16}[\dXx]$/.test(v) && plausibleBirthDate(v.slice(6, 14)) && gb11643Valid(v),
};

export const cnMobileDetector: Detector = {
  name: "cn-mobile",
  description: "mainland mobile number 1[3-9]xxxxxxxxx (optional +86, spaces, hyphens)",
  suggest: { protect: "fpe", format: "cn-mobile" },
  test: (v) => /^1[3-9]\d{9}$/.test(phoneDigits(v)),
};

export const bankCardDetector: Detector = {
  name: "bank-card",
  description: "payment card number: 13-19 digits, issuer prefix 3-6, Luhn check digit",
  suggest: { protect: "fpe", format: "bank-card" },
  test: (v) => {
    const d = v.replace(/[\s-]/g, "");
    return /^[3-6]\d{12,18}$/.test(d) && luhnValid(d);
  },
};

export const usccDetector: Detector = {
  name: "uscc",
  description: "unified social credit code (GB 32100, 18 chars, check character)",
  suggest: DET,
  test: (v) => /^[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}$/i.test(v) && gb32100Valid(v),
};

export const emailDetector: Detector = {
  name: "email",
  description: "e-mail address",
  suggest: DET,
  test: (v) =>
    v.length <= 254 &&
    /^[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$/.test(
      v,
    ),
};

export const passportDetector: Detector = {
  name: "passport",
  description: "PRC passport number (E/G + 8 digits, E + letter + 7 digits, D/S/P + 7-8 digits)",
  suggest: DET,
  test: (v) => /^(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7}|[DSP]E?\d{7,8})$/.test(v.toUpperCase()),
};

export const landlineDetector: Detector = {
  name: "landline",
  description: "fixed-line number with area code 0xx(x)-xxxxxxx(x)",
  suggest: DET,
  test: (v) =>
    /^(?:\+86[- ]?|0086[- ]?)?(?:\(0\d{2,3}\)|0\d{2,3})[- ]?[2-9]\d{6,7}(?:-\d{1,5})?$/.test(v.trim()) &&
    !/^1[3-9]\d{9}$/.test(v),
};

/** Built-in detectors in priority order (earlier wins a tie in hit rate). */
export const BUILTIN_DETECTORS: readonly Detector[] = [
  cnIdDetector,
  usccDetector,
  bankCardDetector,
  cnMobileDetector,
  landlineDetector,
  passportDetector,
  emailDetector,
];
