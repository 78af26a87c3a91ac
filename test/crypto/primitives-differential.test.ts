// Differential tests: crypto/ SM4 (ECB, CTR, batched CTR), SM3, HMAC-SM3 and HKDF-SM3 against the independent
// pure-JS sm-crypto implementation (and node's own createHmac) on random inputs.
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hkdfSm3 } from "../../crypto/hkdf-sm3.js";
import { HmacSm3 } from "../../crypto/hmac-sm3.js";
import { sm3 } from "../../crypto/sm3.js";
import { SM3_IV, sm3Compress } from "../../crypto/sm3-compress.js";
import { sm4Ctr, sm4EcbEncrypt } from "../../crypto/sm4.js";
import { sm4CtrBatch } from "../../crypto/sm4-ctr-batch.js";
import { oCtr, oHkdf, oHmac, oSm3, oSm4Ecb } from "./oracle.js";

const key16 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a));
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
// IVs biased towards counter carries across 32/64/128-bit boundaries
const iv16 = fc.oneof(
  key16,
  fc.integer({ min: 0, max: 15 }).map((k) => {
    const b = Buffer.alloc(16, 0xff);
    b[15] = 0xff - k;
    return b;
  }),
  fc.integer({ min: 0, max: 3 }).map((k) => {
    const b = Buffer.alloc(16, 0);
    b.fill(0xff, 4 * k);
    return b;
  }),
);

describe("SM4 differential against sm-crypto", () => {
  it("ECB over many blocks", () => {
    fc.assert(
      fc.property(key16, fc.integer({ min: 1, max: 40 }), fc.integer(), (k, nb, seed) => {
        const data = Buffer.alloc(nb * 16);
        for (let i = 0; i < data.length; i++) data[i] = (seed * 31 + i * 7) & 0xff;
        expect(sm4EcbEncrypt(k, data).equals(oSm4Ecb(k, data))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("single CTR (OpenSSL sm4-ctr) equals the BigInt-counter oracle, including counter wrap", () => {
    fc.assert(
      fc.property(key16, iv16, bytes(100), (k, iv, pt) => {
        expect(sm4Ctr(k, iv, pt).equals(oCtr(k, iv, pt))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("batched CTR equals per-field OpenSSL sm4-ctr for every field of a batch", () => {
    fc.assert(
      fc.property(key16, fc.array(fc.tuple(iv16, bytes(70)), { maxLength: 30 }), (k, items) => {
        const out = sm4CtrBatch(
          k,
          items.map((x) => x[0]),
          items.map((x) => x[1]),
        );
        expect(out.length).toBe(items.length);
        items.forEach(([iv, pt], i) => {
          expect(out[i].equals(sm4Ctr(k, iv, pt))).toBe(true);
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe("large batches", () => {
  it("a batch beyond the shared counter scratch (5 MB field) still equals sm4-ctr, and so does the next one", () => {
    const k = Buffer.alloc(16, 3);
    const iv = Buffer.alloc(16, 0xfe);
    const big = Buffer.alloc(5 * 1024 * 1024, 0x5a);
    const [ct] = sm4CtrBatch(k, [iv], [big]);
    expect(ct.equals(sm4Ctr(k, iv, big))).toBe(true);
    const small = Buffer.from("after the big one");
    expect(sm4CtrBatch(k, [iv], [small])[0].equals(sm4Ctr(k, iv, small))).toBe(true);
  });
});

describe("SM3 / HMAC-SM3 differential", () => {
  it("SM3 equals sm-crypto on random messages", () => {
    fc.assert(
      fc.property(bytes(300), (m) => {
        expect(sm3(m).equals(oSm3(m))).toBe(true);
      }),
      { numRuns: 80 },
    );
  });

  it("the JS compression function, driven with SM3 padding, equals node's sm3", () => {
    fc.assert(
      fc.property(bytes(300), (m) => {
        const padLen = (m.length + 9 + 63) & ~63;
        const buf = Buffer.alloc(padLen);
        m.copy(buf);
        buf[m.length] = 0x80;
        buf.writeUInt32BE(Math.floor((m.length * 8) / 2 ** 32), padLen - 8);
        buf.writeUInt32BE((m.length * 8) >>> 0, padLen - 4);
        const st = Int32Array.from(SM3_IV);
        for (let o = 0; o < padLen; o += 64) sm3Compress(st, buf, o);
        const out = Buffer.alloc(32);
        st.forEach((w, i) => {
          out.writeInt32BE(w, 4 * i);
        });
        expect(out.equals(sm3(m))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("HMAC-SM3 (JS compression, midstates) equals node createHmac and sm-crypto for keys 0..100 B", () => {
    fc.assert(
      fc.property(bytes(100), fc.array(bytes(150), { maxLength: 4 }), (k, parts) => {
        const h = new HmacSm3(k);
        const want = createHmac("sm3", k).update(Buffer.concat(parts)).digest();
        expect(h.mac(...parts).equals(want)).toBe(true);
        expect(h.mac16(...parts).equals(want.subarray(0, 16))).toBe(true);
        expect(h.mac(...parts).equals(oHmac(k, ...parts))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("messages around the padding boundaries (55, 56, 63, 64, 119, 120 bytes)", () => {
    const k = Buffer.alloc(32, 7);
    const h = new HmacSm3(k);
    for (let len = 0; len <= 200; len++) {
      const m = Buffer.alloc(len, len & 0xff);
      expect(h.mac(m).equals(createHmac("sm3", k).update(m).digest())).toBe(true);
    }
  });
});

describe("HKDF-SM3", () => {
  it("node hkdfSync('sm3') equals RFC 5869 over the oracle HMAC-SM3", () => {
    fc.assert(
      fc.property(bytes(40), bytes(40), bytes(30), fc.integer({ min: 1, max: 100 }), (ikm, salt, info, len) => {
        expect(hkdfSm3(ikm, salt, info, len).equals(oHkdf(ikm, salt, info, len))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("refuses impossible lengths", () => {
    expect(() => hkdfSm3(Buffer.alloc(16), Buffer.alloc(0), "x", 0)).toThrow(
      expect.objectContaining({ code: "BAD_INPUT" }),
    );
    expect(() => hkdfSm3(Buffer.alloc(16), Buffer.alloc(0), "x", 8161)).toThrow(
      expect.objectContaining({ code: "BAD_INPUT" }),
    );
  });
});
