// Check characters of Chinese identifiers and card numbers: GB 11643-1999 (resident identity number, ISO 7064
// MOD 11-2), GB 32100-2015 (unified social credit code, MOD 31) and the Luhn algorithm (ISO/IEC 7812 cards).

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = "10X98765432"; // index = (sum mod 11)

/** GB 11643 check character for the first 17 digits; undefined when `body` is not 17 digits. */
export function gb11643CheckChar(body: string): string | undefined {
  if (!/^\d{17}$/.test(body)) return undefined;
  let s = 0;
  for (let i = 0; i < 17; i++) s += (body.charCodeAt(i) - 48) * ID_WEIGHTS[i];
  return ID_CHECK[s % 11];
}

/** 18-character resident ID with a correct check character (upper- or lower-case x accepted). */
export function gb11643Valid(id: string): boolean {
  if (id.length !== 18) return false;
  const c = gb11643CheckChar(id.slice(0, 17));
  return c !== undefined && c === id[17].toUpperCase();
}

/** Birth date YYYYMMDD plausible: 1850-01-01 .. today (GB 11643 itself uses an 1880 example). */
export function plausibleBirthDate(yyyymmdd: string): boolean {
  if (!/^\d{8}$/.test(yyyymmdd)) return false;
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  if (y < 1850 || m < 1 || m > 12 || d < 1) return false;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return false;
  return date.getTime() <= Date.now();
}

export const USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** GB 32100 check character for the first 17 characters; undefined when a character is outside the charset. */
export function gb32100CheckChar(body: string): string | undefined {
  if (body.length !== 17) return undefined;
  let s = 0;
  for (let i = 0; i < 17; i++) {
    const v = USCC_CHARSET.indexOf(body[i]);
    if (v < 0) return undefined;
    s += v * USCC_WEIGHTS[i];
  }
  return USCC_CHARSET[(31 - (s % 31)) % 31];
}

/** 18-character unified social credit code with a correct check character. */
export function gb32100Valid(code: string): boolean {
  if (code.length !== 18) return false;
  const c = gb32100CheckChar(code.slice(0, 17).toUpperCase());
  return c !== undefined && c === code[17].toUpperCase();
}

/** Luhn check digit to append to `body` (digits only); undefined otherwise. */
export function luhnCheckDigit(body: string): string | undefined {
  if (!/^\d+$/.test(body)) return undefined;
  let s = 0;
  for (let i = body.length - 1, dbl = true; i >= 0; i--, dbl = !dbl) {
    let d = body.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    s += d;
  }
  return String((10 - (s % 10)) % 10);
}

export function luhnValid(digits: string): boolean {
  if (digits.length < 2) return false;
  return luhnCheckDigit(digits.slice(0, -1)) === digits[digits.length - 1];
}
