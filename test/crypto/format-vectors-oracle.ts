// Computes the docs/FORMAT.md vectors WITHOUT crypto/: subkeys via RFC 5869 over sm-crypto's HMAC-SM3,
// envelopes via the oracle layouts, FPE via the straight-line reference FF1 (node SM4 per block, BigInt) and
// the format rules re-implemented here from the documentation.

import { refFf1 } from "./ff1-reference.js";
import { oDet, oHkdf, oHmac, oRnd } from "./oracle.js";

export interface FormatVectors {
  dek: string;
  key_id: number;
  ad: string;
  fpe_ad: string;
  subkeys: Record<"enc" | "mac" | "siv" | "bidx" | "fpe", string>;
  rnd: { iv: string; plaintext: string; envelope: string; text: string }[];
  det: { plaintext: string; envelope: string; text: string }[];
  blind_index: { plaintext_hex: string; index: string }[];
  integrity_mac: { row_key: (string | null)[]; row_key_encoding: string; value: string; mac: string }[];
  fpe: { format: string; options: Record<string, number>; plaintext: string; ciphertext: string }[];
}

const ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const cnCheck = (body: string) => "10X98765432"[[...body].reduce((s, c, i) => s + Number(c) * W[i], 0) % 11];
const luhnOk = (s: string) =>
  [...s]
    .reverse()
    .map(Number)
    .reduce((sum, d, i) => sum + (i % 2 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d), 0) %
    10 ===
  0;

export const VECTOR_INPUTS = {
  dek: "000102030405060708090a0b0c0d0e0f",
  keyId: 0x01020304,
  ad: "public.customers.phone",
  rnd: [
    { iv: "101112131415161718191a1b1c1d1e1f", pt: "13800138000" },
    { iv: "ffffffffffffffffffffffffffffffff", pt: "The quick brown fox jumps over the lazy dog" },
    { iv: "00000000000000000000000000000000", pt: "" },
  ],
  det: ["13800138000", "The quick brown fox jumps over the lazy dog", ""],
  bidx: ["alice@example.com", "Am\u00e9lie", "Ame\u0301lie"],
  mac: [{ rowKey: ["42", null], value: "alice@example.com" }],
  fpeAd: "public.people.id_no",
  fpe: [
    { format: "cn-id", options: {}, pt: "11010519491231002X" },
    { format: "cn-id", options: { keep_prefix: 0, keep_suffix: 4 }, pt: "440524188001010014" },
    { format: "cn-mobile", options: {}, pt: "13800138000" },
    { format: "bank-card", options: {}, pt: "6222021234567890128" },
    { format: "bank-card", options: { keep_suffix: 0 }, pt: "6222021234567890128" },
    { format: "digits", options: {}, pt: "0123456789" },
    { format: "digits", options: { keep_prefix: 2, keep_suffix: 2 }, pt: "0123456789" },
    { format: "alnum", options: {}, pt: "Hello2024World" },
    { format: "integer", options: { width: 8 }, pt: "1234567" },
    { format: "integer", options: { width: 8 }, pt: "-42" },
  ] as { format: string; options: Record<string, number>; pt: string }[],
};

function ff1(fpeKey: Buffer, radix: number, tweak: Buffer, s: string, alphabet: string): string {
  return refFf1(
    "sm4-ecb",
    fpeKey,
    radix,
    tweak,
    [...s].map((c) => alphabet.indexOf(c)),
  )
    .map((d) => alphabet[d])
    .join("");
}

function fpeOracle(fpeKey: Buffer, tweak: Buffer, format: string, o: Record<string, number>, v: string): string {
  const D = "0123456789";
  const kp = o.keep_prefix;
  const ks = o.keep_suffix;
  switch (format) {
    case "cn-id": {
      const p = kp ?? 6;
      const s = ks ?? 0;
      const body = v.slice(0, p) + ff1(fpeKey, 10, tweak, v.slice(p, 17 - s), D) + v.slice(17 - s, 17);
      return body + cnCheck(body);
    }
    case "cn-mobile": {
      const p = kp ?? 3;
      return v.slice(0, p) + ff1(fpeKey, 10, tweak, v.slice(p), D);
    }
    case "bank-card": {
      const p = kp ?? 6;
      const s = ks ?? 4;
      if (s === 0) {
        const payload = v.slice(0, p) + ff1(fpeKey, 10, tweak, v.slice(p, -1), D);
        for (let c = 0; c < 10; c++) if (luhnOk(payload + c)) return payload + c;
        throw new Error("unreachable");
      }
      let mid = v.slice(p, v.length - s);
      do mid = ff1(fpeKey, 10, tweak, mid, D);
      while (!luhnOk(v.slice(0, p) + mid + v.slice(v.length - s)));
      return v.slice(0, p) + mid + v.slice(v.length - s);
    }
    case "digits":
    case "alnum": {
      const p = kp ?? 0;
      const s = ks ?? 0;
      const [radix, alph] = format === "digits" ? [10, D] : [62, ALNUM];
      return v.slice(0, p) + ff1(fpeKey, radix, tweak, v.slice(p, v.length - s), alph) + v.slice(v.length - s);
    }
    case "integer": {
      const neg = v.startsWith("-");
      let mag = (neg ? v.slice(1) : v).padStart(o.width, "0");
      do mag = ff1(fpeKey, 10, tweak, mag, D);
      while (neg && /^0+$/.test(mag));
      return (neg ? "-" : "") + BigInt(mag).toString();
    }
  }
  throw new Error(`no oracle for ${format}`);
}

export function computeVectors(): FormatVectors {
  const I = VECTOR_INPUTS;
  const dek = Buffer.from(I.dek, "hex");
  const sk = (name: string, len: number) => oHkdf(dek, Buffer.alloc(0), Buffer.from(`smgate/v1/${name}`), len);
  const enc = sk("enc", 16);
  const mac = sk("mac", 32);
  const siv = sk("siv", 32);
  const bidx = sk("bidx", 32);
  const fpe = sk("fpe", 16);
  const ad = Buffer.from(I.ad);
  const text = (b: Buffer) => `smg1:${b.toString("base64url")}`;
  const enc32 = (v: string | null) => {
    if (v === null) return Buffer.from("ffffffff", "hex");
    const b = Buffer.from(v);
    const l = Buffer.alloc(4);
    l.writeUInt32BE(b.length);
    return Buffer.concat([l, b]);
  };
  return {
    dek: I.dek,
    key_id: I.keyId,
    ad: I.ad,
    fpe_ad: I.fpeAd,
    subkeys: {
      enc: enc.toString("hex"),
      mac: mac.toString("hex"),
      siv: siv.toString("hex"),
      bidx: bidx.toString("hex"),
      fpe: fpe.toString("hex"),
    },
    rnd: I.rnd.map(({ iv, pt }) => {
      const env = oRnd(enc, mac, I.keyId, Buffer.from(iv, "hex"), ad, Buffer.from(pt));
      return { iv, plaintext: pt, envelope: env.toString("hex"), text: text(env) };
    }),
    det: I.det.map((pt) => {
      const env = oDet(enc, siv, I.keyId, ad, Buffer.from(pt));
      return { plaintext: pt, envelope: env.toString("hex"), text: text(env) };
    }),
    blind_index: I.bidx.map((pt) => ({
      plaintext_hex: Buffer.from(pt).toString("hex"),
      // the documented normalisation: NFC of valid UTF-8
      index: oHmac(bidx, Buffer.from(pt.normalize("NFC")))
        .subarray(0, 16)
        .toString("hex"),
    })),
    integrity_mac: I.mac.map(({ rowKey, value }) => {
      const rk = Buffer.concat(rowKey.map(enc32));
      return {
        row_key: rowKey,
        row_key_encoding: rk.toString("hex"),
        value,
        mac: oHmac(mac, ad, rk, Buffer.from(value)).subarray(0, 16).toString("hex"),
      };
    }),
    fpe: I.fpe.map(({ format, options, pt }) => ({
      format,
      options,
      plaintext: pt,
      ciphertext: fpeOracle(fpe, Buffer.from(I.fpeAd), format, options, pt),
    })),
  };
}
