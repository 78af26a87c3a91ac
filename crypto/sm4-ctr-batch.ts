// Public batch SM4-CTR: many (iv, input) pairs, one SM4-ECB call over all their counter blocks.
import { blocksFor, counterScratch, keystreamFor, writeCounters, xorInto } from "./ctr-keystream.js";
import { CryptoError } from "./errors.js";

export function sm4CtrBatch(key: Buffer, ivs: Buffer[], inputs: Buffer[]): Buffer[] {
  if (ivs.length !== inputs.length) {
    throw new CryptoError("BAD_INPUT", `sm4CtrBatch: ${ivs.length} IVs for ${inputs.length} inputs`);
  }
  let blocks = 0;
  let total = 0;
  for (let i = 0; i < inputs.length; i++) {
    if (ivs[i].length !== 16) throw new CryptoError("BAD_INPUT", `sm4CtrBatch: IV ${i} is not 16 bytes`);
    blocks += blocksFor(inputs[i].length);
    total += inputs[i].length;
  }
  const s = counterScratch(blocks * 16);
  let pos = 0;
  for (let i = 0; i < inputs.length; i++) pos = writeCounters(s, pos, ivs[i], 0, blocksFor(inputs[i].length));
  const ks = keystreamFor(key, s, pos);
  const slab = Buffer.allocUnsafe(total);
  const out: Buffer[] = new Array(inputs.length);
  let k = 0;
  let o = 0;
  for (let i = 0; i < inputs.length; i++) {
    const len = inputs[i].length;
    xorInto(slab, o, inputs[i], 0, ks, k, len);
    out[i] = slab.subarray(o, o + len);
    o += len;
    k += blocksFor(len) * 16;
  }
  return out;
}
