// Check characters of the FPE formats: GB 11643-1999 (ISO 7064 MOD 11-2) for cn-id and Luhn for bank cards.

const CN_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CN_ID_CHECK = "10X98765432";

/** Check character of a 17-digit cn-id body (digits given as a string of '0'..'9'). */
export function cnIdCheckChar(body17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (body17.charCodeAt(i) - 48) * CN_ID_WEIGHTS[i];
  return CN_ID_CHECK[sum % 11];
}

/** Luhn check digit to append to `payload` (digits string). */
export function luhnCheckDigit(payload: string): number {
  let sum = 0;
  let dbl = true; // the digit next to the check digit is doubled
  for (let i = payload.length - 1; i >= 0; i--) {
    let d = payload.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when the digits string (check digit last) passes the Luhn test. */
export function luhnValid(digits: string): boolean {
  return luhnCheckDigit(digits.slice(0, -1)) === digits.charCodeAt(digits.length - 1) - 48;
}
