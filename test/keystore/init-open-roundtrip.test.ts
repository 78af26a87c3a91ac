// A keystore created, saved and reopened yields the same data keys: data encrypted before reopening
// decrypts after it, for the env and file providers.
import { readFileSync, statSync } from "node:fs";
import { afterEach, describe, expect, test } from "vitest";
import { decryptEnvelopes, encryptDet, encryptRnd } from "../../crypto/envelope.js";
import { MIN_PBKDF2_ITERATIONS } from "../../keystore/kdf.js";
import { initKeyStore, openKeyStore } from "../../keystore/open.js";
import { envKeystore, fileKeystore, removeTempDirs, tempDir, WEAK } from "./helpers.js";

afterEach(removeTempDirs);
const AD = Buffer.from("public.patients.diagnosis");

describe("init → save → open round trip", () => {
  test("env provider: same keys, same ids, data decrypts after reopening", async () => {
    const { cfg, env } = envKeystore(tempDir());
    const ks = await initKeyStore(cfg, { env });
    const a = ks.createKey("patients");
    const b = ks.createKey("diag", { kek: "db_test" });
    ks.save();
    const ring = ks.keyRing();
    const rnd = encryptRnd(ring.active("patients"), AD, [Buffer.from("肺炎"), Buffer.from("")]);
    const det = encryptDet(ring.active("diag"), AD, [Buffer.from("13800138000")]);
    const infoBefore = ks.list();
    ks.close();

    const again = await openKeyStore(cfg, { env });
    expect(again.list()).toEqual(infoBefore);
    const r2 = again.keyRing();
    expect(r2.active("patients").keyId).toBe(a.keyId);
    expect(r2.active("diag").keyId).toBe(b.keyId);
    expect(r2.names()).toEqual(["diag", "patients"]);
    expect(decryptEnvelopes((id) => r2.byId(id), AD, rnd).map((x) => x.toString())).toEqual(["肺炎", ""]);
    expect(decryptEnvelopes((id) => r2.byId(id), AD, det)[0].toString()).toBe("13800138000");
    // DET is deterministic under the reopened key: same plaintext → same envelope
    expect(encryptDet(r2.active("diag"), AD, [Buffer.from("13800138000")])[0]).toEqual(det[0]);
    const levels = again.list().map((k) => `${k.level}:${k.name}`);
    expect(levels.sort()).toEqual(["dek:diag", "dek:patients", "kek:db_test", "kek:default"]);
    again.close();
  });

  test("file provider with the production iteration count; file mode 0600", async () => {
    const { cfg, passphrase } = fileKeystore(tempDir());
    const ks = await initKeyStore(cfg, { passphrase });
    ks.createKey("k1");
    ks.save();
    const env = encryptRnd(ks.keyRing().active("k1"), AD, [Buffer.from("x")]);
    ks.close();
    expect(statSync(cfg.path).mode & 0o777).toBe(0o600);
    const again = await openKeyStore(cfg, { passphrase });
    expect(decryptEnvelopes((id) => again.keyRing().byId(id), AD, env)[0].toString()).toBe("x");
    again.close();
    expect(JSON.parse(readFileSync(cfg.path, "utf8")).provider.kdf.iterations).toBe(MIN_PBKDF2_ITERATIONS);
  });

  test("passphrase read from the env var named by passphrase_env", async () => {
    const { cfg, passphrase } = fileKeystore(tempDir());
    cfg.passphrase_env = "SMG_KS_PASS";
    const env = { SMG_KS_PASS: passphrase };
    (await initKeyStore(cfg, { env, ...WEAK })).close();
    const ks = await openKeyStore(cfg, { env, allowWeakKdfForTests: true });
    expect(ks.list()).toHaveLength(1);
    ks.close();
  });

  test("hot-path lookups return the same cached DataKey object", async () => {
    const { cfg, env } = envKeystore(tempDir());
    const ks = await initKeyStore(cfg, { env });
    const info = ks.createKey("n");
    const ring = ks.keyRing();
    expect(ring.active("n")).toBe(ring.active("n"));
    expect(ring.byId(info.keyId)).toBe(ring.active("n"));
    ks.close();
  });

  test("init refuses to overwrite an existing keystore", async () => {
    const { cfg, env } = envKeystore(tempDir());
    (await initKeyStore(cfg, { env })).close();
    await expect(initKeyStore(cfg, { env })).rejects.toMatchObject({ code: "FILE_EXISTS" });
  });
});
