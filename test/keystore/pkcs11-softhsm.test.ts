// PKCS#11 provider against a real SoftHSM2 token: `init` creates a non-extractable, sensitive AES-256
// master key; KEKs are wrapped on the token with CKM_AES_KEY_WRAP_PAD (checked independently by unwrapping
// a stored blob on the token); reopening works; wrong PIN, missing key and extractable keys are refused.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkcs11js from "pkcs11js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { decryptEnvelopes, encryptRnd } from "../../crypto/envelope.js";
import { KeystoreError } from "../../keystore/errors.js";
import { initKeyStore, openKeyStore } from "../../keystore/open.js";
import type { KeystoreConfig } from "../../keystore/types.js";
import { clearKeys, containsKey, removeTempDirs, tempDir } from "./helpers.js";
import { createSoftHsmToken, findSecretKeys, SOFTHSM_MODULE, withTokenSession } from "./softhsm.js";

let dir: string;
let token: ReturnType<typeof createSoftHsmToken>;
let cfg: KeystoreConfig;
let env: NodeJS.ProcessEnv;
const AD = Buffer.from("public.t.secret");

beforeAll(() => {
  dir = tempDir("smg-keystore-p11-");
  token = createSoftHsmToken(dir);
  env = { SMG_P11_PIN: token.pin };
  cfg = {
    provider: "pkcs11",
    path: join(dir, "keystore.json"),
    pkcs11: { module: SOFTHSM_MODULE, token_label: token.label, pin_env: "SMG_P11_PIN", key_label: "smgate-master" },
  };
});
afterAll(removeTempDirs);

async function failure(p: Promise<unknown>): Promise<KeystoreError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KeystoreError);
    return e as KeystoreError;
  }
  throw new Error("expected a KeystoreError");
}

describe.sequential("SoftHSM2 token", () => {
  let envelopes: Buffer[];

  test("open before init: no keystore file → says to run keys init", async () => {
    const e = await failure(openKeyStore({ ...cfg, path: join(dir, "nothing.json") }, { env }));
    expect(e.code).toBe("FILE_MISSING");
    expect(e.message).toContain('does not exist; create it with "smgate keys init"');
  });

  test("init creates the master key on the token: AES-256, non-extractable, sensitive, value unreadable", async () => {
    const ks = await initKeyStore(cfg, { env });
    ks.createKey("secret");
    envelopes = encryptRnd(ks.keyRing().active("secret"), AD, [Buffer.from("on the token")]);
    ks.save();
    ks.close();
    withTokenSession(token.label, token.pin, (p, s) => {
      const keys = findSecretKeys(p, s, "smgate-master");
      expect(keys).toHaveLength(1);
      const [ext, sens, type, len, token_] = p.C_GetAttributeValue(s, keys[0], [
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_KEY_TYPE },
        { type: pkcs11js.CKA_VALUE_LEN },
        { type: pkcs11js.CKA_TOKEN },
      ]);
      expect(ext.value[0]).toBe(0);
      expect(sens.value[0]).toBe(1);
      expect(type.value.readUInt32LE(0)).toBe(pkcs11js.CKK_AES);
      expect(len.value.readUInt32LE(0)).toBe(32);
      expect(token_.value[0]).toBe(1);
      expect(() => p.C_GetAttributeValue(s, keys[0], [{ type: pkcs11js.CKA_VALUE }])).toThrow(
        /CKR_ATTRIBUTE_SENSITIVE/,
      );
    });
  });

  test("reopening unwraps on the token; data decrypts; file holds no KEK/DEK bytes", async () => {
    const ks = await openKeyStore(cfg, { env });
    expect(ks.providerKind).toBe("pkcs11");
    expect(decryptEnvelopes((id) => ks.keyRing().byId(id), AD, envelopes)[0].toString()).toBe("on the token");
    const keys = clearKeys(ks);
    ks.close();
    const text = readFileSync(cfg.path, "utf8");
    for (const k of keys) if (k.key) expect(containsKey(text, k.key)).toBe(false);
    expect(JSON.parse(text).provider).toEqual({
      type: "pkcs11",
      key_label: "smgate-master",
      mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD,
    });
  });

  test("the stored KEK blob is a CKM_AES_KEY_WRAP_PAD wrap by the token key of KEK ‖ SM3(AD)", async () => {
    const ks = await openKeyStore(cfg, { env });
    const kekClear = clearKeys(ks).find((k) => k.level === "kek")!;
    ks.close();
    const entry = JSON.parse(readFileSync(cfg.path, "utf8")).keys.find((k: { level: string }) => k.level === "kek");
    const blob = Buffer.from(entry.wrapped, "base64");
    expect(blob.length).toBe(16 + 32 + 8);
    const value = withTokenSession(token.label, token.pin, (p, s) => {
      const [master] = findSecretKeys(p, s, "smgate-master");
      const h = p.C_UnwrapKey(s, { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD }, master, blob, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_SENSITIVE, value: false },
        { type: pkcs11js.CKA_EXTRACTABLE, value: true },
      ]);
      return Buffer.from(p.C_GetAttributeValue(s, h, [{ type: pkcs11js.CKA_VALUE }])[0].value);
    });
    const ad = `smgate/key/kek/${entry.name}/${entry.id}`;
    expect(value).toEqual(Buffer.concat([kekClear.key!, createHash("sm3").update(ad).digest()]));
  });

  test("the token can also be chosen by slot id (as reported by softhsm2-util)", async () => {
    expect(Number.isInteger(token.slot)).toBe(true);
    const { token_label: _, ...bySlot } = cfg.pkcs11!;
    const ks = await openKeyStore({ ...cfg, pkcs11: { ...bySlot, slot: token.slot } }, { env });
    expect(ks.keyRing().names()).toEqual(["secret"]);
    ks.close();
    const e = await failure(openKeyStore({ ...cfg, pkcs11: { ...bySlot, slot: token.slot + 1 } }, { env }));
    expect(e.message).toContain(`no initialized token in slot ${token.slot + 1}`);
  });

  test("two keystores on one token in one process: closing one leaves the other logged in", async () => {
    const a = await openKeyStore(cfg, { env });
    const b = await openKeyStore(cfg, { env });
    a.close();
    // creating a KEK wraps on the token, so it needs a live, logged-in session
    const kek = b.createKek("db_after_close");
    expect(kek.level).toBe("kek");
    b.close();
  });

  test("wrong PIN → PROVIDER error naming the token and the PIN variable, not the PIN", async () => {
    const e = await failure(openKeyStore(cfg, { env: { SMG_P11_PIN: "0000" } }));
    expect(e.code).toBe("PROVIDER");
    expect(e.message).toBe(`wrong PIN for PKCS#11 token "${token.label}" (PIN taken from SMG_P11_PIN)`);
    // and the right PIN still works afterwards (no lock-out from one try)
    (await openKeyStore(cfg, { env })).close();
  });

  test("missing master key label, unknown token, mechanism mismatch → clear errors", async () => {
    const p = cfg.pkcs11!;
    // without key_label in the config, the label recorded in the file is used
    (await openKeyStore({ ...cfg, pkcs11: { ...p, key_label: undefined } }, { env })).close();
    const other = join(dir, "other.json");
    (await initKeyStore({ ...cfg, path: other, pkcs11: { ...p, key_label: "absent" } }, { env })).close();
    const noKey = await failure(
      openKeyStore({ ...cfg, path: other, pkcs11: { ...p, key_label: "absent-2" } }, { env }),
    );
    expect(noKey.code).toBe("CONFIG");
    expect(noKey.message).toContain('wrapped under token key "absent"');
    const noToken = await failure(openKeyStore({ ...cfg, pkcs11: { ...p, token_label: "no-such-token" } }, { env }));
    expect(noToken.message).toContain('no initialized token in a token labelled "no-such-token"');
    const mech = await failure(openKeyStore({ ...cfg, pkcs11: { ...p, mechanism: "CKM_AES_KEY_WRAP" } }, { env }));
    expect(mech.code).toBe("CONFIG");
    expect(mech.message).toMatch(/wrapped with mechanism \d+ but pkcs11.mechanism resolves to \d+/);
    const badMech = await failure(openKeyStore({ ...cfg, pkcs11: { ...p, mechanism: "CKM_NOPE" } }, { env }));
    expect(badMech.message).toContain('"CKM_NOPE" is not a known CKM_* name');
    // a keystore whose token key was deleted
    withTokenSession(token.label, token.pin, (pk, s) => {
      for (const h of findSecretKeys(pk, s, "absent")) pk.C_DestroyObject(s, h);
    });
    const gone = await failure(
      openKeyStore({ ...cfg, path: join(dir, "other.json"), pkcs11: { ...p, key_label: "absent" } }, { env }),
    );
    expect(gone.message).toContain('no master key labelled "absent"');
  });

  test("an extractable key under the configured label is refused", async () => {
    withTokenSession(token.label, token.pin, (p, s) => {
      p.C_GenerateKey(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_LABEL, value: "leaky" },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: false },
        { type: pkcs11js.CKA_WRAP, value: true },
        { type: pkcs11js.CKA_UNWRAP, value: true },
      ]);
    });
    const e = await failure(
      initKeyStore({ ...cfg, path: join(dir, "leaky.json"), pkcs11: { ...cfg.pkcs11!, key_label: "leaky" } }, { env }),
    );
    expect(e.message).toMatch(/"leaky" .* is extractable or not sensitive/);
  });

  test("a damaged integrity-key blob is rejected by the token unwrap → FILE_TAMPERED", async () => {
    const text = readFileSync(cfg.path, "utf8");
    const doc = JSON.parse(text);
    const b = Buffer.from(doc.integrity_key, "base64");
    b[10] ^= 1;
    writeFileSync(cfg.path, JSON.stringify({ ...doc, integrity_key: b.toString("base64") }));
    const e = await failure(openKeyStore(cfg, { env }));
    expect(e.code).toBe("FILE_TAMPERED");
    writeFileSync(cfg.path, text);
    (await openKeyStore(cfg, { env })).close();
  });
});

describe("mechanism configuration", () => {
  test("CKM_* names, numbers and decimal/hex strings (vendor SM4 mechanisms) resolve; junk is refused", async () => {
    const { resolveMechanism } = await import("../../keystore/providers/pkcs11-master.js");
    expect(resolveMechanism(undefined)).toBe(pkcs11js.CKM_AES_KEY_WRAP_PAD);
    expect(resolveMechanism("CKM_AES_KEY_WRAP_PAD")).toBe(0x210a); // PKCS#11 v2.40 value
    expect(resolveMechanism("CKM_AES_KEY_WRAP")).toBe(0x2109);
    expect(resolveMechanism(0x80000101)).toBe(0x80000101);
    expect(resolveMechanism("0x80000101")).toBe(0x80000101);
    expect(resolveMechanism("2147483905")).toBe(0x80000101);
    expect(() => resolveMechanism("SM4_WRAP")).toThrow(/not a known CKM_\* name/);
    expect(() => resolveMechanism(-1)).toThrow(/invalid/);
  });
});
