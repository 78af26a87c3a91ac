// Envelope v1 (RND, DET), text form, data-key derivation, blind index and integrity MAC: bytes checked against
// an oracle built from sm-crypto + SPEC §4, round trips, tamper rejection and error hygiene.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { blindIndex } from "../../crypto/blind-index.js";
import { type DataKey, deriveDataKey, deriveSubkeys } from "../../crypto/data-key.js";
import {
  decryptEnvelopes,
  encryptDet,
  encryptRnd,
  envelopeFromText,
  envelopeKeyId,
  envelopeToText,
  isEnvelopeText,
} from "../../crypto/envelope.js";
import { CryptoError } from "../../crypto/errors.js";
import { encodeRowKey, integrityMac } from "../../crypto/integrity-mac.js";
import { oDet, oHkdf, oHmac, oRnd } from "./oracle.js";

const DEK = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");
const KEY_ID = 0x01020304;
const AD = Buffer.from("public.customers.phone", "utf8");
const key = deriveDataKey(KEY_ID, DEK);
const sub = deriveSubkeys(DEK);
const resolve = (id: number): DataKey => {
  if (id === KEY_ID) return key;
  throw new Error(`no key ${id}`);
};
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

function catchErr(f: () => unknown): CryptoError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CryptoError);
    return e as CryptoError;
  }
  throw new Error("expected a CryptoError");
}

describe("data key derivation", () => {
  it("subkeys are RFC 5869 HKDF-SM3 (empty salt, info smgate/v1/<name>) of the DEK", () => {
    for (const [name, len] of [
      ["enc", 16],
      ["mac", 32],
      ["siv", 32],
      ["bidx", 32],
      ["fpe", 16],
    ] as const) {
      expect(sub[name].equals(oHkdf(DEK, Buffer.alloc(0), Buffer.from(`smgate/v1/${name}`), len))).toBe(true);
    }
    expect(key.enc.equals(sub.enc)).toBe(true);
    expect(key.mac.mac(Buffer.from("x")).equals(oHmac(sub.mac, Buffer.from("x")))).toBe(true);
  });

  it("rejects bad DEK sizes and key ids", () => {
    expect(catchErr(() => deriveDataKey(1, Buffer.alloc(15))).code).toBe("BAD_INPUT");
    expect(catchErr(() => deriveDataKey(-1, DEK)).code).toBe("BAD_INPUT");
    expect(catchErr(() => deriveDataKey(2 ** 32, DEK)).code).toBe("BAD_INPUT");
  });
});

describe("RND envelope", () => {
  it("bytes equal the SPEC §4 layout computed with the sm-crypto oracle (fixed IVs)", () => {
    fc.assert(
      fc.property(fc.array(bytes(80), { maxLength: 12 }), bytes(40), (pts, ad) => {
        const ivs = Buffer.alloc(16 * pts.length);
        for (let i = 0; i < ivs.length; i++) ivs[i] = (i * 37 + 11) & 0xff;
        const envs = encryptRnd(key, ad, pts, { ivSource: () => ivs });
        pts.forEach((pt, i) => {
          const want = oRnd(sub.enc, sub.mac, KEY_ID, ivs.subarray(16 * i, 16 * i + 16), ad, pt);
          expect(envs[i].equals(want)).toBe(true);
        });
      }),
      { numRuns: 50 },
    );
  });

  it("decrypt ∘ encrypt = id", () => {
    fc.assert(
      fc.property(fc.array(bytes(300), { maxLength: 20 }), (pts) => {
        const back = decryptEnvelopes(resolve, AD, encryptRnd(key, AD, pts));
        expect(back.map((b) => b.toString("hex"))).toEqual(pts.map((b) => b.toString("hex")));
      }),
    );
  });

  it("never repeats: equal plaintexts give distinct envelopes", () => {
    const pts = Array.from({ length: 2000 }, () => Buffer.from("13800138000"));
    const set = new Set(encryptRnd(key, AD, pts).map((e) => e.toString("hex")));
    expect(set.size).toBe(2000);
  });
});

describe("DET envelope", () => {
  it("bytes equal the SPEC §4 layout computed with the sm-crypto oracle", () => {
    fc.assert(
      fc.property(fc.array(bytes(80), { maxLength: 12 }), bytes(40), (pts, ad) => {
        const envs = encryptDet(key, ad, pts);
        pts.forEach((pt, i) => {
          expect(envs[i].equals(oDet(sub.enc, sub.siv, KEY_ID, ad, pt))).toBe(true);
        });
      }),
      { numRuns: 50 },
    );
  });

  it("decrypt ∘ encrypt = id; equal in → equal out; different AD → different out", () => {
    fc.assert(
      fc.property(fc.array(bytes(300), { minLength: 1, maxLength: 20 }), (pts) => {
        const e1 = encryptDet(key, AD, pts);
        const e2 = encryptDet(
          key,
          AD,
          pts.map((p) => Buffer.from(p)),
        );
        const e3 = encryptDet(key, Buffer.from("public.customers.email"), pts);
        expect(decryptEnvelopes(resolve, AD, e1).map((b) => b.toString("hex"))).toEqual(
          pts.map((b) => b.toString("hex")),
        );
        e1.forEach((e, i) => {
          expect(e.equals(e2[i])).toBe(true);
          expect(e.equals(e3[i])).toBe(false);
        });
      }),
    );
  });
});

describe("mixed batches", () => {
  it("decrypts RND and DET envelopes under two different keys in one batch", () => {
    const key2 = deriveDataKey(7, Buffer.alloc(16, 9));
    const res = (id: number) => (id === 7 ? key2 : resolve(id));
    const pts = Array.from({ length: 40 }, (_, i) => Buffer.from(`value-${i}-${"x".repeat(i)}`));
    const envs = pts.map((p, i) => {
      const k = i % 3 === 0 ? key2 : key;
      return i % 2 ? encryptRnd(k, AD, [p])[0] : encryptDet(k, AD, [p])[0];
    });
    expect(decryptEnvelopes(res, AD, envs).map(String)).toEqual(pts.map(String));
    expect(envelopeKeyId(envs[0])).toBe(7);
    expect(envelopeKeyId(envs[1])).toBe(KEY_ID);
  });
});

describe("tamper and key errors", () => {
  const secret = Buffer.from("SECRET-PLAINTEXT-4711");
  const envs = [encryptRnd(key, AD, [secret])[0], encryptDet(key, AD, [secret])[0]];

  for (const [name, env] of [
    ["RND", envs[0]],
    ["DET", envs[1]],
  ] as const) {
    it(`${name}: every single-byte flip, truncation and extension is rejected with CryptoError`, () => {
      for (let i = 0; i < env.length; i++) {
        for (const bit of [0x01, 0x80, 0xff]) {
          const bad = Buffer.from(env);
          bad[i] ^= bit;
          const e = catchErr(() => decryptEnvelopes(resolve, AD, [bad]));
          expect(["BAD_ENVELOPE", "BAD_TAG", "UNKNOWN_KEY"]).toContain(e.code);
          expect(e.message).not.toContain("SECRET");
        }
      }
      for (let len = 0; len < env.length; len++) {
        const e = catchErr(() => decryptEnvelopes(resolve, AD, [env.subarray(0, len)]));
        expect(["BAD_ENVELOPE", "BAD_TAG"]).toContain(e.code);
      }
      for (const extra of [Buffer.from([0]), Buffer.from([0xab, 0xcd]), Buffer.alloc(16)]) {
        expect(["BAD_ENVELOPE", "BAD_TAG"]).toContain(
          catchErr(() => decryptEnvelopes(resolve, AD, [Buffer.concat([env, extra])])).code,
        );
      }
      expect(catchErr(() => decryptEnvelopes(resolve, Buffer.from("public.other.col"), [env])).code).toBe("BAD_TAG");
    });
  }

  it("wrong key material under the right key id fails authentication, not garbage", () => {
    const wrong = deriveDataKey(KEY_ID, Buffer.alloc(16, 1));
    for (const env of envs) {
      const e = catchErr(() => decryptEnvelopes(() => wrong, AD, [env]));
      expect(e.code).toBe("BAD_TAG");
    }
  });

  it("unknown key id gives UNKNOWN_KEY naming the id; destroyed key gives KEY_DESTROYED", () => {
    const e = catchErr(() =>
      decryptEnvelopes(
        () => {
          throw new Error("unknown key id");
        },
        AD,
        envs,
      ),
    );
    expect(e.code).toBe("UNKNOWN_KEY");
    expect(e.message).toContain(String(KEY_ID));
    const d = catchErr(() =>
      decryptEnvelopes(
        () => {
          throw new Error("key 16909060 was destroyed");
        },
        AD,
        envs,
      ),
    );
    expect(d.code).toBe("KEY_DESTROYED");
    const coded = catchErr(() =>
      decryptEnvelopes(
        () => {
          throw Object.assign(new Error("key 16909060 is not available"), { code: "KEY_DESTROYED" });
        },
        AD,
        envs,
      ),
    );
    expect(coded.code).toBe("KEY_DESTROYED");
    // a resolver returning a key with another id is refused
    expect(catchErr(() => decryptEnvelopes(() => deriveDataKey(5, DEK), AD, envs)).code).toBe("UNKNOWN_KEY");
  });

  it("error messages never contain plaintext or key bytes", () => {
    const bad = Buffer.from(envs[0]);
    bad[bad.length - 1] ^= 1;
    const e = catchErr(() => decryptEnvelopes(resolve, AD, [envs[1], bad]));
    expect(e.message).toContain("envelope 1");
    for (const s of [secret.toString(), secret.toString("hex"), DEK.toString("hex"), sub.enc.toString("hex")]) {
      expect(e.message).not.toContain(s);
    }
  });
});

describe("text form", () => {
  it("round trips and is recognised", () => {
    fc.assert(
      fc.property(bytes(100), (pt) => {
        for (const env of [encryptRnd(key, AD, [pt])[0], encryptDet(key, AD, [pt])[0]]) {
          const t = envelopeToText(env);
          expect(t.startsWith("smg1:")).toBe(true);
          expect(t).not.toContain("=");
          expect(isEnvelopeText(t)).toBe(true);
          expect(envelopeFromText(t).equals(env)).toBe(true);
        }
      }),
    );
  });

  it("rejects non-envelope text", () => {
    for (const s of ["", "smg1:", "smg2:AQID", "hello", "smg1:AQ==", "smg1:a+b/", "smg1:A"]) {
      expect(isEnvelopeText(s)).toBe(false);
    }
    expect(catchErr(() => envelopeFromText("plain text")).code).toBe("BAD_ENVELOPE");
    expect(catchErr(() => envelopeFromText("smg1:ab$d")).code).toBe("BAD_ENVELOPE");
    // non-canonical trailing bits: "AR" and "AQ" decode to the same byte
    expect(catchErr(() => envelopeFromText("smg1:AR")).code).toBe("BAD_ENVELOPE");
  });
});

describe("blind index", () => {
  it("is HMAC-SM3(bidx, NFC(pt))[:16]; equal NFC forms give equal indexes", () => {
    const pts = [Buffer.from("alice@example.com"), Buffer.from("Ame\u0301lie"), Buffer.from("Am\u00e9lie")];
    const bi = blindIndex(key, pts);
    expect(bi[0].equals(oHmac(sub.bidx, pts[0]).subarray(0, 16))).toBe(true);
    expect(bi[1].equals(bi[2])).toBe(true);
    expect(bi[2].equals(oHmac(sub.bidx, Buffer.from("Am\u00e9lie")).subarray(0, 16))).toBe(true);
    const binary = Buffer.from([0xff, 0xfe, 0x41]);
    expect(blindIndex(key, [binary])[0].equals(oHmac(sub.bidx, binary).subarray(0, 16))).toBe(true);
    expect(bi[0].equals(blindIndex(key, [Buffer.from("Alice@example.com")])[0])).toBe(false);
  });
});

describe("integrity MAC", () => {
  it("row key encoding is u32 BE length ‖ bytes, FFFFFFFF for NULL", () => {
    expect(encodeRowKey([Buffer.from("42"), null, Buffer.alloc(0)]).toString("hex")).toBe(
      "000000023432" + "ffffffff" + "00000000",
    );
  });

  it("is HMAC-SM3(mac, AD ‖ rowkey ‖ value)[:16]", () => {
    fc.assert(
      fc.property(fc.array(fc.option(bytes(20), { nil: null })), bytes(50), (rk, v) => {
        const rowKey = encodeRowKey(rk);
        expect(integrityMac(key, AD, rowKey, v).equals(oHmac(sub.mac, AD, rowKey, v).subarray(0, 16))).toBe(true);
      }),
    );
  });
});
