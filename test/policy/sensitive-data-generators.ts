// Test data for discovery: valid identifiers computed from the standards' formulas as written there
// (independently of policy/discovery/checksums.ts: weights derived as 2^(17-i) mod 11 and 3^i mod 31, Luhn by
// summing digits of doubled digits) and decoys that look alike but fail the checks. Seeded PRNG: reproducible.

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const digits = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join("");
const pick = <T>(r: () => number, a: readonly T[]) => a[Math.floor(r() * a.length)];

/** ISO 7064 MOD 11-2 as GB 11643 states it: W_i = 2^(i-1) mod 11 counted from the right (check char = position 1). */
function idCheck(body17: string): string {
  let sum = 0;
  for (let k = 0; k < 17; k++) {
    const posFromRight = 18 - k; // leftmost body digit is position 18
    const w = 2 ** (posFromRight - 1) % 11;
    sum += Number(body17[k]) * w;
  }
  const a1 = (12 - (sum % 11)) % 11;
  return a1 === 10 ? "X" : String(a1);
}

const REGIONS = ["110101", "310104", "440305", "330106", "510107", "420102", "610113", "320102"];

export function validCnId(r: () => number): string {
  const y = 1950 + Math.floor(r() * 55);
  const m = 1 + Math.floor(r() * 12);
  const d = 1 + Math.floor(r() * 28);
  const body = `${pick(r, REGIONS)}${y}${String(m).padStart(2, "0")}${String(d).padStart(2, "0")}${digits(r, 3)}`;
  return body + idCheck(body);
}

/** 18 digits shaped like an ID but with a wrong check character. */
export function wrongCheckCnId(r: () => number): string {
  const v = validCnId(r);
  const good = v[17];
  const alternatives = "0123456789X".split("").filter((c) => c !== good);
  return v.slice(0, 17) + pick(r, alternatives);
}

export function validMobile(r: () => number): string {
  return `1${3 + Math.floor(r() * 7)}${digits(r, 9)}`;
}

/** 11 digits that are not a mobile number: starting 10, 11 or 12, or 2-9. */
export function nonMobile11(r: () => number): string {
  return r() < 0.5 ? `1${Math.floor(r() * 3)}${digits(r, 9)}` : `${2 + Math.floor(r() * 8)}${digits(r, 10)}`;
}

function luhnSum(ds: string): number {
  // from the right, every second digit doubled; two-digit products contribute the sum of their digits
  let s = 0;
  const rev = ds.split("").reverse();
  rev.forEach((c, i) => {
    const v = Number(c) * (i % 2 === 1 ? 2 : 1);
    s += Math.floor(v / 10) + (v % 10);
  });
  return s;
}

export function validCard(r: () => number): string {
  const len = pick(r, [16, 16, 19, 19, 18]);
  const body = pick(r, ["622202", "621700", "436742", "518710", "625907"]) + digits(r, len - 7);
  for (let c = 0; c < 10; c++) if (luhnSum(body + c) % 10 === 0) return body + c;
  throw new Error("unreachable");
}

export function luhnFailCard(r: () => number): string {
  const v = validCard(r);
  const last = (Number(v[v.length - 1]) + 1 + Math.floor(r() * 9)) % 10;
  return v.slice(0, -1) + last;
}

const USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY";

export function validUscc(r: () => number): string {
  const body =
    pick(r, ["91", "92", "93", "11", "12", "51", "52"]) +
    pick(r, REGIONS) +
    Array.from({ length: 9 }, () => pick(r, USCC.split(""))).join("");
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC.indexOf(body[i]) * (3 ** i % 31);
  const c = 31 - (sum % 31);
  return body + USCC[c === 31 ? 0 : c];
}

export function email(r: () => number): string {
  return `${pick(r, ["zhang", "li", "wang", "chen", "liu"])}.${digits(r, 4)}@${pick(r, ["example.com", "mail.cn", "corp.com.cn"])}`;
}

export function passport(r: () => number): string {
  return r() < 0.5 ? `E${digits(r, 8)}` : `E${pick(r, "ABCDEFGHJKLMNPQRSTUVWXYZ".split(""))}${digits(r, 7)}`;
}

export function landline(r: () => number): string {
  return r() < 0.5
    ? `010-${2 + Math.floor(r() * 8)}${digits(r, 7)}`
    : `0${pick(r, ["755", "571", "28"])}-${2 + Math.floor(r() * 8)}${digits(r, 6)}`;
}

export function randomText(r: () => number): string {
  const words = ["患者", "复诊", "normal", "follow-up", "blood", "pressure", "ok", "2024", "note", "x-ray"];
  return Array.from({ length: 2 + Math.floor(r() * 5) }, () => pick(r, words)).join(" ");
}
