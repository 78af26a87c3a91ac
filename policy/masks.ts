// Masks applied to a column value a subject may not see in plaintext: `keep:m,n`, `full`, `null`, `hash`.
// Pure functions, string in → string | null out; the gateway calls them per value (or per batch).
import { createHash } from "node:crypto";

export type MaskSpec =
  | { kind: "keep"; first: number; last: number }
  | { kind: "full" }
  | { kind: "null" }
  | { kind: "hash" };

export const MASK_CHAR = "*";

/** Anything with an HMAC-SM3 `mac()` (crypto/hmac-sm3.ts HmacSm3 fits): makes `hash` a keyed hash. */
export interface MaskHasher {
  mac(...parts: Uint8Array[]): Buffer;
}

const KEEP = /^keep:(\d{1,4}),(\d{1,4})$/;

/** Parses a mask kind as written in policy.yaml; undefined when it is not one. */
export function parseMask(text: string): MaskSpec | undefined {
  const t = text.trim();
  if (t === "full") return { kind: "full" };
  if (t === "null") return { kind: "null" };
  if (t === "hash") return { kind: "hash" };
  const m = KEEP.exec(t);
  if (m) return { kind: "keep", first: Number(m[1]), last: Number(m[2]) };
  return undefined;
}

export function maskToString(m: MaskSpec): string {
  return m.kind === "keep" ? `keep:${m.first},${m.last}` : m.kind;
}

/**
 * `keep:m,n`: keeps the first m and last n characters (Unicode code points) and replaces each character in
 * between by `*`. A value not longer than m+n would be shown whole, so it is masked entirely instead: a mask
 * never reveals a complete value.
 */
export function maskKeep(value: string, first: number, last: number): string {
  const cps = Array.from(value);
  if (cps.length <= first + last) return MASK_CHAR.repeat(cps.length);
  return (
    cps.slice(0, first).join("") + MASK_CHAR.repeat(cps.length - first - last) + cps.slice(cps.length - last).join("")
  );
}

/** `full`: every character replaced by `*` (same length in characters). */
export function maskFull(value: string): string {
  return MASK_CHAR.repeat(Array.from(value).length);
}

/**
 * `hash`: lowercase hex (64 chars). With a hasher (the gateway passes the column's HMAC-SM3 key) it is
 * HMAC-SM3(key, UTF-8 value) — not reversible by guessing; without one it is plain SM3(UTF-8 value), which
 * only hides values from a large space (a phone number's SM3 can be found by trying all numbers).
 */
export function maskHash(value: string, hasher?: MaskHasher): string {
  const bytes = Buffer.from(value, "utf8");
  if (hasher) return hasher.mac(bytes).toString("hex");
  return createHash("sm3").update(bytes).digest("hex");
}

/** Applies a mask to one value; SQL NULL stays NULL for every mask. */
export function applyMask(mask: MaskSpec, value: string | null, hasher?: MaskHasher): string | null {
  if (value === null) return null;
  switch (mask.kind) {
    case "keep":
      return maskKeep(value, mask.first, mask.last);
    case "full":
      return maskFull(value);
    case "null":
      return null;
    case "hash":
      return maskHash(value, hasher);
  }
}

/** Batch form: one call per column per row batch. */
export function applyMaskBatch(mask: MaskSpec, values: (string | null)[], hasher?: MaskHasher): (string | null)[] {
  const out = new Array<string | null>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = applyMask(mask, values[i], hasher);
  return out;
}
