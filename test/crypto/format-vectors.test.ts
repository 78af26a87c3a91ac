// docs/FORMAT.md pins vectors; this test recomputes them with the independent oracle
// (format-vectors-oracle.ts: sm-crypto, hand-written RFC 5869, straight-line FF1, re-implemented format rules)
// and checks that oracle, document and crypto/ all agree, so a bug in crypto/ cannot pin itself.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { blindIndex } from "../../crypto/blind-index.js";
import { deriveDataKey, deriveSubkeys } from "../../crypto/data-key.js";
import { decryptEnvelopes, encryptDet, encryptRnd, envelopeFromText, envelopeToText } from "../../crypto/envelope.js";
import { type FpeFormatName, fpeDecrypt, fpeEncrypt } from "../../crypto/fpe/index.js";
import { encodeRowKey, integrityMac } from "../../crypto/integrity-mac.js";
import { computeVectors, type FormatVectors } from "./format-vectors-oracle.js";

const doc = readFileSync(new URL("../../docs/FORMAT.md", import.meta.url), "utf8");
const block = /<!-- vectors:begin -->\s*```json\n([\s\S]*?)\n```\s*<!-- vectors:end -->/.exec(doc);
const pinned = JSON.parse(block?.[1] ?? "null") as FormatVectors;

describe("docs/FORMAT.md vectors", () => {
  it("the document's vectors equal the independent oracle's", () => {
    expect(pinned).not.toBeNull();
    expect(pinned).toEqual(computeVectors());
  });

  const dek = Buffer.from(pinned.dek, "hex");
  const key = deriveDataKey(pinned.key_id, dek);
  const ad = Buffer.from(pinned.ad);

  it("crypto/ derives the pinned subkeys", () => {
    const s = deriveSubkeys(dek);
    for (const name of ["enc", "mac", "siv", "bidx", "fpe"] as const) {
      expect(s[name].toString("hex")).toBe(pinned.subkeys[name]);
    }
  });

  it("crypto/ produces the pinned RND and DET envelopes and texts, and decrypts them", () => {
    const ivs = Buffer.from(pinned.rnd.map((r) => r.iv).join(""), "hex");
    const rnd = encryptRnd(
      key,
      ad,
      pinned.rnd.map((r) => Buffer.from(r.plaintext)),
      { ivSource: () => ivs },
    );
    const det = encryptDet(
      key,
      ad,
      pinned.det.map((r) => Buffer.from(r.plaintext)),
    );
    pinned.rnd.forEach((r, i) => {
      expect(rnd[i].toString("hex")).toBe(r.envelope);
      expect(envelopeToText(rnd[i])).toBe(r.text);
    });
    pinned.det.forEach((r, i) => {
      expect(det[i].toString("hex")).toBe(r.envelope);
      expect(envelopeToText(det[i])).toBe(r.text);
    });
    const all = [...pinned.rnd, ...pinned.det];
    const back = decryptEnvelopes(
      () => key,
      ad,
      all.map((r) => envelopeFromText(r.text)),
    );
    expect(back.map(String)).toEqual(all.map((r) => r.plaintext));
  });

  it("crypto/ produces the pinned blind indexes and integrity MACs", () => {
    const bi = blindIndex(
      key,
      pinned.blind_index.map((b) => Buffer.from(b.plaintext_hex, "hex")),
    );
    pinned.blind_index.forEach((b, i) => {
      expect(bi[i].toString("hex")).toBe(b.index);
    });
    for (const m of pinned.integrity_mac) {
      const rk = encodeRowKey(m.row_key.map((v) => (v === null ? null : Buffer.from(v))));
      expect(rk.toString("hex")).toBe(m.row_key_encoding);
      expect(integrityMac(key, ad, rk, Buffer.from(m.value)).toString("hex")).toBe(m.mac);
    }
  });

  it("crypto/ produces the pinned FPE ciphertexts and decrypts them", () => {
    const fad = Buffer.from(pinned.fpe_ad);
    for (const f of pinned.fpe) {
      const format = f.format as FpeFormatName;
      expect(fpeEncrypt(key, fad, format, [f.plaintext], f.options)).toEqual([f.ciphertext]);
      expect(fpeDecrypt(key, fad, format, [f.ciphertext], f.options)).toEqual([f.plaintext]);
    }
  });
});
