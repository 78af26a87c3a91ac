// SM2 over sm-crypto-v2, interoperating with the independent `sm-crypto` package in both directions:
// signatures (Z value with user ID "1234567812345678", DER) and C1C3C2 encryption.
import fc from "fast-check";
import { sm2 as oracle } from "sm-crypto";
import { describe, expect, it } from "vitest";
import { CryptoError } from "../../crypto/errors.js";
import { sm2Decrypt, sm2Encrypt, sm2GenerateKeyPair, sm2Sign, sm2Verify } from "../../crypto/sm2.js";

const msg = Buffer.from("smgate admin request: rotate key customers");

describe("SM2 signatures", () => {
  it("ours signs, sm-crypto verifies (and the other way round), default user ID", () => {
    const kp = sm2GenerateKeyPair();
    expect(kp.publicKey).toMatch(/^04[0-9a-f]{128}$/);
    expect(kp.privateKey).toMatch(/^[0-9a-f]{64}$/);
    const sig = sm2Sign(kp.privateKey, msg);
    expect(oracle.doVerifySignature(Array.from(msg), sig, kp.publicKey, { der: true, hash: true })).toBe(true);
    expect(
      oracle.doVerifySignature(Array.from(msg), sig, kp.publicKey, { der: true, hash: true, userId: "someone-else" }),
    ).toBe(false);
    const okp = oracle.generateKeyPairHex();
    const osig = oracle.doSignature(Array.from(msg), okp.privateKey, { der: true, hash: true });
    expect(sm2Verify(okp.publicKey, msg, osig)).toBe(true);
    expect(sm2Verify(okp.publicKey, Buffer.from("other"), osig)).toBe(false);
  });

  it("custom user IDs interoperate; wrong key, message or malformed signature → false", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.string({ minLength: 1, maxLength: 20 }), (m, uid) => {
        const kp = sm2GenerateKeyPair();
        const sig = sm2Sign(kp.privateKey, Buffer.from(m), uid);
        expect(oracle.doVerifySignature(Array.from(m), sig, kp.publicKey, { der: true, hash: true, userId: uid })).toBe(
          true,
        );
        expect(sm2Verify(kp.publicKey, Buffer.from(m), sig, uid)).toBe(true);
        expect(sm2Verify(kp.publicKey, Buffer.from(m), sig)).toBe(uid === "1234567812345678");
        expect(sm2Verify(sm2GenerateKeyPair().publicKey, Buffer.from(m), sig, uid)).toBe(false);
      }),
      { numRuns: 8 },
    );
    const kp = sm2GenerateKeyPair();
    expect(sm2Verify(kp.publicKey, msg, "zz")).toBe(false);
    expect(sm2Verify(kp.publicKey, msg, "3006020101020101")).toBe(false);
    expect(() => sm2Verify("04abcd", msg, "00")).toThrow(CryptoError);
    expect(() => sm2Sign("abc", msg)).toThrow(CryptoError);
  });
});

describe("SM2 encryption (C1C3C2)", () => {
  it("ours encrypts, sm-crypto decrypts; sm-crypto encrypts, ours decrypts", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (m) => {
        const data = Buffer.from(m);
        const kp = sm2GenerateKeyPair();
        const ct = sm2Encrypt(kp.publicKey, data);
        expect(ct.length).toBe(1 + 64 + 32 + data.length);
        expect(ct[0]).toBe(4);
        const back = oracle.doDecrypt(ct.subarray(1).toString("hex"), kp.privateKey, 1, { output: "array" });
        expect(Buffer.from(back as number[]).equals(data)).toBe(true);
        const oct = oracle.doEncrypt(Array.from(data), kp.publicKey, 1);
        expect(sm2Decrypt(kp.privateKey, Buffer.from(`04${oct}`, "hex")).equals(data)).toBe(true);
      }),
      { numRuns: 8 },
    );
  });

  it("wrong key or tampering → CryptoError; empty data refused", () => {
    const kp = sm2GenerateKeyPair();
    const ct = sm2Encrypt(kp.publicKey, msg);
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(CryptoError);
        return (e as CryptoError).code;
      }
      return "no error";
    };
    expect(err(() => sm2Decrypt(sm2GenerateKeyPair().privateKey, ct))).toBe("BAD_TAG");
    for (const i of [70, 100, ct.length - 1]) {
      const bad = Buffer.from(ct);
      bad[i] ^= 1;
      expect(err(() => sm2Decrypt(kp.privateKey, bad))).toBe("BAD_TAG");
    }
    const badPoint = Buffer.from(ct);
    badPoint[5] ^= 1;
    expect(["BAD_ENVELOPE", "BAD_TAG"]).toContain(err(() => sm2Decrypt(kp.privateKey, badPoint)));
    expect(err(() => sm2Decrypt(kp.privateKey, ct.subarray(0, 90)))).toBe("BAD_ENVELOPE");
    expect(err(() => sm2Encrypt(kp.publicKey, Buffer.alloc(0)))).toBe("BAD_INPUT");
  });
});
