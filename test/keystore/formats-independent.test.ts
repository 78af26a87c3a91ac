// The stored formats, checked with independent code: KEK/DEK wraps and backup payloads are decrypted here
// with node:crypto alone (HKDF-SM3, SM4-CTR, HMAC-SM3 per SPEC §4 and docs/KEYS.md), and the SM2-encrypted
// backup key with the original sm-crypto package (oracle) — not with smgate's own crypto/ or keystore/.
import { createDecipheriv, createHmac, hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { sm2 as smCryptoSm2 } from "sm-crypto";
import { afterEach, expect, test } from "vitest";
import { initKeyStore } from "../../keystore/open.js";
import { clearKeys, envKeystore, removeTempDirs, tempDir } from "./helpers.js";

afterEach(removeTempDirs);

/** SPEC §4 RND envelope opened with node:crypto: 01 ‖ keyid ‖ iv ‖ ct ‖ tag under the DEK-derived subkeys. */
function openRnd(parentKey: Buffer, parentId: number, ad: Buffer, env: Buffer): Buffer {
  const sub = (info: string, len: number) => Buffer.from(hkdfSync("sm3", parentKey, Buffer.alloc(0), info, len));
  expect(env[0]).toBe(0x01);
  expect(env.readUInt32BE(1)).toBe(parentId);
  const iv = env.subarray(5, 21);
  const ct = env.subarray(21, env.length - 16);
  const tag = env.subarray(env.length - 16);
  const mac = createHmac("sm3", sub("smgate/v1/mac", 32)).update(env.subarray(0, 21)).update(ad).update(ct).digest();
  expect(mac.subarray(0, 16)).toEqual(tag);
  const d = createDecipheriv("sm4-ctr", sub("smgate/v1/enc", 16), iv);
  return Buffer.concat([d.update(ct), d.final()]);
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(",")}}`;
}

test("env provider: master → KEK → DEK chain and the file MAC verify with node:crypto alone", async () => {
  const { cfg, env, master } = envKeystore(tempDir());
  const ks = await initKeyStore(cfg, { env });
  ks.createKey("patients");
  ks.createKey("orders", { kek: "shop" });
  ks.save();
  const expected = new Map(clearKeys(ks).map((k) => [k.keyId, k.key!]));
  ks.close();
  const doc = JSON.parse(readFileSync(cfg.path, "utf8"));
  const clear = new Map<number, Buffer>();
  for (const k of doc.keys.filter((x: { level: string }) => x.level === "kek")) {
    const ad = Buffer.from(`smgate/key/kek/${k.name}/${k.id}`);
    clear.set(k.id, openRnd(master, doc.master_key_id, ad, Buffer.from(k.wrapped, "base64")));
  }
  for (const k of doc.keys.filter((x: { level: string }) => x.level === "dek")) {
    const ad = Buffer.from(`smgate/key/dek/${k.name}/${k.id}`);
    clear.set(k.id, openRnd(clear.get(k.parent)!, k.parent, ad, Buffer.from(k.wrapped, "base64")));
  }
  expect(clear).toEqual(expected);
  // integrity key and file MAC
  const ik = openRnd(
    master,
    doc.master_key_id,
    Buffer.from(`smgate/key/integrity/keystore/${doc.master_key_id}`),
    Buffer.from(doc.integrity_key, "base64"),
  );
  expect(ik.length).toBe(32);
  const { mac, ...body } = doc;
  expect(createHmac("sm3", ik).update(canonical(body)).digest("hex")).toBe(mac);
  // check value
  const check = createHmac("sm3", master).update(`smgate/keystore/v1/master-check/${doc.master_key_id}`).digest();
  expect(check.toString("base64")).toBe(doc.provider.check);
});

test("SM2 backup: bundle key decrypts with sm-crypto, payload with node:crypto, keys match", async () => {
  const { cfg, env } = envKeystore(tempDir());
  const ks = await initKeyStore(cfg, { env });
  ks.createKey("a");
  ks.rotate("a");
  const expected = clearKeys(ks);
  const pair = smCryptoSm2.generateKeyPairHex();
  const text = ks.exportBackup({ sm2PublicKey: pair.publicKey }, { policyText: "version: 1\n" });
  ks.close();
  const { payload, ...header } = JSON.parse(text);
  const enc = Buffer.from(header.recipient.encrypted_key, "base64");
  expect(enc[0]).toBe(0x04); // 04 ‖ C1 ‖ C3 ‖ C2
  const bundleKey = Buffer.from(
    smCryptoSm2.doDecrypt(enc.subarray(1).toString("hex"), pair.privateKey, 1, { output: "array" }),
  );
  expect(bundleKey.length).toBe(16);
  const ad = Buffer.from("smgate/backup/v1/" + canonical(header));
  const plain = JSON.parse(openRnd(bundleKey, header.bundle_key_id, ad, Buffer.from(payload, "base64")).toString());
  expect(plain.policy).toBe("version: 1\n");
  const got = plain.keys.map((k: { id: number; name: string; state: string; key: string }) => [
    k.id,
    k.name,
    k.state,
    k.key,
  ]);
  expect(got).toEqual(expected.map((k) => [k.keyId, k.name, k.state, k.key!.toString("base64")]));
});
