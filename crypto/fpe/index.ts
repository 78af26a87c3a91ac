// Format-preserving encryption (FF1-SM4, tweak = AD) over the formats of formats.ts, batched: all values of a
// call go through one Ff1 batch (per distinct length), cycle-walking repeats FF1 only for values that need it.
import type { DataKey } from "../data-key.js";
import { CryptoError } from "../errors.js";
import { Ff1 } from "../ff1.js";
import { sm4Encryptor } from "../sm4-tables.js";
import { type FormatRule, type FpeFormatName, type FpeOptions, formatRule, type Split } from "./formats.js";

export { FPE_FORMATS, type FpeFormatName, type FpeOptions } from "./formats.js";

const engines = new WeakMap<Buffer, { keyCopy: Buffer; byRadix: Map<number, Ff1> }>();

/**
 * FF1-SM4 engine for a key's fpe subkey and a radix, cached per key object (engines cache per-tweak CBC-MAC
 * states, so the cache entry is dropped if the key bytes were changed in place).
 */
export function ff1Sm4(fpeKey: Buffer, radix: number): Ff1 {
  let e = engines.get(fpeKey);
  if (!e?.keyCopy.equals(fpeKey)) {
    const keyCopy = Buffer.from(fpeKey);
    e = { keyCopy, byRadix: new Map() };
    engines.set(fpeKey, e);
  }
  let f = e.byRadix.get(radix);
  if (!f) {
    const sm4 = sm4Encryptor(e.keyCopy);
    const blocks = (src: Buffer): Buffer => {
      const out = Buffer.allocUnsafe(src.length);
      sm4.encryptBlocks(src, 0, out, 0, src.length >>> 4);
      return out;
    };
    f = new Ff1(blocks, radix, (x, n) => sm4.encryptWordBlocks(x, n));
    e.byRadix.set(radix, f);
  }
  return f;
}

function run(
  key: DataKey,
  ad: Buffer,
  format: FpeFormatName,
  values: string[],
  opts: FpeOptions | undefined,
  enc: boolean,
) {
  if (!key || !Buffer.isBuffer(key.fpe)) throw new CryptoError("BAD_INPUT", "fpe: no data key given");
  if (!Buffer.isBuffer(ad)) throw new CryptoError("BAD_INPUT", "fpe: associated data must be a Buffer");
  const rule: FormatRule = formatRule(format, opts);
  const n = values.length;
  const splits: Split[] = new Array(n);
  for (let i = 0; i < n; i++) {
    if (typeof values[i] !== "string") throw new CryptoError("FORMAT", `fpe ${format}: value ${i} is not a string`);
    splits[i] = rule.split(values[i], i);
  }
  const ff1 = ff1Sm4(key.fpe, rule.radix);
  let mids = splits.map((s) => s.mid);
  let idx: number[] | null = null; // indices still cycle-walking (null: all, first pass)
  const result: Uint8Array[] = new Array(n);
  for (;;) {
    const out = enc ? ff1.encrypt(ad, mids) : ff1.decrypt(ad, mids);
    const nextIdx: number[] = [];
    const nextMids: Uint8Array[] = [];
    for (let t = 0; t < out.length; t++) {
      const i = idx ? idx[t] : t;
      if (rule.valid && !rule.valid(splits[i], out[t])) {
        nextIdx.push(i);
        nextMids.push(out[t]);
      } else result[i] = out[t];
    }
    // a cycle of the FF1 permutation contains the (valid) input, so every walk ends
    if (nextIdx.length === 0) break;
    idx = nextIdx;
    mids = nextMids;
  }
  return splits.map((s, i) => rule.join(s, result[i]));
}

export function fpeEncrypt(
  key: DataKey,
  ad: Buffer,
  format: FpeFormatName,
  values: string[],
  opts?: FpeOptions,
): string[] {
  return run(key, ad, format, values, opts, true);
}

export function fpeDecrypt(
  key: DataKey,
  ad: Buffer,
  format: FpeFormatName,
  values: string[],
  opts?: FpeOptions,
): string[] {
  return run(key, ad, format, values, opts, false);
}
