// Backups: encrypted to a passphrase or an SM2 public key, restored into a NEW keystore under a new master
// (keys keep ids and states, data decrypts), policy text carried along; tampering and wrong secrets refused.
import { sm2 } from "sm-crypto-v2";
import { afterEach, describe, expect, test } from "vitest";
import { decryptEnvelopes, encryptRnd } from "../../crypto/envelope.js";
import { KeystoreError } from "../../keystore/errors.js";
import type { KeyStore } from "../../keystore/keystore.js";
import { initKeyStore, openKeyStore } from "../../keystore/open.js";
import { clearKeys, containsKey, envKeystore, fileKeystore, removeTempDirs, tempDir, WEAK } from "./helpers.js";

afterEach(removeTempDirs);
const AD = Buffer.from("public.patients.name");
const POLICY = "version: 1\ntables: {}\n# 备注\n";
const TEST_PASS = { passphrase: "backup pass", iterations: 1000, allowWeakKdfForTests: true } as const;

async function source() {
  const { cfg, env } = envKeystore(tempDir(), "src.json");
  const ks = await initKeyStore(cfg, { env });
  const k = ks.createKey("patients");
  const envs = encryptRnd(ks.keyRing().active("patients"), AD, [Buffer.from("张三")]);
  ks.rotate("patients");
  const gone = ks.createKey("old");
  ks.destroy(gone.keyId);
  ks.createKey("other", { kek: "db2" });
  ks.save();
  return { ks, envs, firstId: k.keyId };
}

async function restoreInto(text: string, unlock: Parameters<KeyStore["importBackup"]>[1]) {
  const { cfg, passphrase } = fileKeystore(tempDir(), "restored.json");
  const ks = await initKeyStore(cfg, { passphrase, ...WEAK, defaultKek: false });
  const r = ks.importBackup(text, unlock, "b.json");
  ks.save();
  ks.close();
  return { cfg, passphrase, r };
}

describe("round trip", () => {
  test("passphrase backup restores every key, state and the policy into a new master", async () => {
    const { ks, envs, firstId } = await source();
    const before = ks.list();
    const keysBefore = clearKeys(ks);
    const text = ks.exportBackup(TEST_PASS, { policyText: POLICY });
    ks.close();
    for (const k of keysBefore) if (k.key) expect(containsKey(text, k.key)).toBe(false);

    const { cfg, passphrase, r } = await restoreInto(text, { passphrase: "backup pass", allowWeakKdfForTests: true });
    expect(r.keys).toBe(before.length);
    expect(r.policyText).toBe(POLICY);
    const restored = await openKeyStore(cfg, { passphrase, allowWeakKdfForTests: true });
    const strip = (l: typeof before) => l.map(({ parentId, ...rest }) => ({ ...rest, kek: parentId }));
    // KEKs get the new master as parent; everything else is identical
    expect(strip(restored.list()).map(({ kek, ...x }) => x)).toEqual(strip(before).map(({ kek, ...x }) => x));
    expect(restored.list().find((k) => k.level === "kek")!.parentId).toBe(restored.masterKeyId);
    const ring = restored.keyRing();
    expect(decryptEnvelopes((id) => ring.byId(id), AD, envs)[0].toString()).toBe("张三");
    expect(restored.list().find((k) => k.keyId === firstId)!.state).toBe("decrypt-only");
    expect(restored.list().find((k) => k.name === "old")!.state).toBe("destroyed");
    restored.close();
  });

  test("SM2 backup: restorable only with the matching private key", async () => {
    const { ks, envs } = await source();
    const pair = sm2.generateKeyPairHex();
    const text = ks.exportBackup({ sm2PublicKey: pair.publicKey });
    ks.close();
    expect(JSON.parse(text).recipient.type).toBe("sm2");
    const other = sm2.generateKeyPairHex();
    const { cfg: c1, passphrase: p1 } = fileKeystore(tempDir(), "wrong.json");
    const wrongTarget = await initKeyStore(c1, { passphrase: p1, ...WEAK, defaultKek: false });
    expect(() => wrongTarget.importBackup(text, { sm2PrivateKey: other.privateKey }, "b.json")).toThrow(
      /SM2 private key does not decrypt this backup/,
    );
    expect(() => wrongTarget.importBackup(text, { passphrase: "x" }, "b.json")).toThrow(/give the SM2 private key/);
    wrongTarget.close();

    const { cfg, passphrase } = await restoreInto(text, { sm2PrivateKey: pair.privateKey });
    const restored = await openKeyStore(cfg, { passphrase, allowWeakKdfForTests: true });
    expect(decryptEnvelopes((id) => restored.keyRing().byId(id), AD, envs)[0].toString()).toBe("张三");
    restored.close();
  });

  test("import refuses a keystore that already holds keys", async () => {
    const { ks } = await source();
    const text = ks.exportBackup(TEST_PASS);
    expect(() => ks.importBackup(text, { passphrase: "backup pass", allowWeakKdfForTests: true })).toThrow(
      /already holds keys/,
    );
    ks.close();
  });

  test("production backups use ≥ 200,000 PBKDF2 iterations and refuse fewer on import", async () => {
    const { ks } = await source();
    expect(() => ks.exportBackup({ passphrase: "p1234567", iterations: 10_000 })).toThrow(/below the minimum/);
    expect(() => ks.exportBackup({ passphrase: "short" })).toThrow(/backup passphrase must have at least 8 characters/);
    const prod = ks.exportBackup({ passphrase: "p1234567" });
    expect(JSON.parse(prod).recipient.kdf.iterations).toBe(200_000);
    const weak = ks.exportBackup(TEST_PASS);
    ks.close();
    const { cfg, passphrase } = fileKeystore(tempDir(), "t.json");
    const t = await initKeyStore(cfg, { passphrase, ...WEAK, defaultKek: false });
    expect(() => t.importBackup(weak, { passphrase: "backup pass" }, "weak.json")).toThrow(
      /weak.json: PBKDF2 iteration count 1000/,
    );
    t.close();
  });
});

describe("tampering and wrong secrets", () => {
  let text: string;
  let target: KeyStore;
  const unlock = { passphrase: "backup pass", allowWeakKdfForTests: true };

  async function setup() {
    const { ks } = await source();
    text = ks.exportBackup(TEST_PASS, { policyText: POLICY });
    ks.close();
    const { cfg, passphrase } = fileKeystore(tempDir(), "t.json");
    target = await initKeyStore(cfg, { passphrase, ...WEAK, defaultKek: false });
  }
  const refuse = (t: string, re: RegExp, u: Parameters<KeyStore["importBackup"]>[1] = unlock) => {
    let err: unknown;
    try {
      target.importBackup(t, u, "b.json");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeystoreError);
    expect((err as KeystoreError).code).toBe("BACKUP_INVALID");
    expect((err as Error).message).toMatch(re);
    expect(target.list()).toHaveLength(0);
  };

  test("wrong passphrase", async () => {
    await setup();
    refuse(text, /wrong backup passphrase/, { passphrase: "nope", allowWeakKdfForTests: true });
    target.close();
  });

  test("a flipped payload byte, an edited header field or a swapped payload is refused", async () => {
    await setup();
    const doc = JSON.parse(text);
    const payload = Buffer.from(doc.payload, "base64");
    for (const pos of [0, 5, 30, payload.length - 1, Math.floor(payload.length / 2)]) {
      const p = Buffer.from(payload);
      p[pos] ^= 0x04;
      refuse(JSON.stringify({ ...doc, payload: p.toString("base64") }), /integrity check failed|modified/);
    }
    refuse(JSON.stringify({ ...doc, created_at: "2000-01-01T00:00:00Z" }), /integrity check failed/);
    refuse(
      JSON.stringify({ ...doc, bundle_key_id: (doc.bundle_key_id ^ 1) >>> 0 }),
      /wrong backup passphrase|integrity/,
    );
    // payload of another backup under the same passphrase: different salt → different bundle key
    const { ks } = await source();
    const other = JSON.parse(ks.exportBackup(TEST_PASS));
    ks.close();
    refuse(JSON.stringify({ ...doc, payload: other.payload }), /integrity check failed/);
    target.close();
  });

  test("truncated or non-backup files are refused with the file named", async () => {
    await setup();
    refuse(text.slice(0, text.length / 2), /b\.json: is not a smgate key backup/);
    refuse(JSON.stringify({ hello: 1 }), /b\.json: is not a valid smgate key backup/);
    target.close();
  });

  test("the backup file contains no clear key bytes", async () => {
    const { ks } = await source();
    const keys = clearKeys(ks);
    const t = ks.exportBackup(TEST_PASS);
    const s = ks.exportBackup({ sm2PublicKey: sm2.generateKeyPairHex().publicKey });
    ks.close();
    for (const k of keys) if (k.key) for (const f of [t, s]) expect(containsKey(f, k.key)).toBe(false);
  });
});
