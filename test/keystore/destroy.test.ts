// Destroy: the wrapped material is deleted from the file; byId then fails with "key <id> was destroyed",
// and the envelope decryptor reports KEY_DESTROYED instead of returning anything.
import { readFileSync } from "node:fs";
import { afterEach, expect, test } from "vitest";
import { decryptEnvelopes, encryptRnd } from "../../crypto/envelope.js";
import { CryptoError } from "../../crypto/errors.js";
import { KeyUnavailableError } from "../../keystore/errors.js";
import { initKeyStore, openKeyStore } from "../../keystore/open.js";
import { envKeystore, removeTempDirs, tempDir } from "./helpers.js";

afterEach(removeTempDirs);
const AD = Buffer.from("test.t.c");

test("destroyed DEK: material gone from the file, byId throws, decrypt fails with KEY_DESTROYED", async () => {
  const { cfg, env } = envKeystore(tempDir());
  const ks = await initKeyStore(cfg, { env });
  const k1 = ks.createKey("c");
  const env1 = encryptRnd(ks.keyRing().active("c"), AD, [Buffer.from("secret")]);
  const k2 = ks.rotate("c");
  ks.destroy(k1.keyId);
  ks.save();
  expect(() => ks.keyRing().byId(k1.keyId)).toThrow(`key ${k1.keyId} ("c") was destroyed`);
  ks.close();

  const entry = JSON.parse(readFileSync(cfg.path, "utf8")).keys.find((k: { id: number }) => k.id === k1.keyId);
  expect(entry.state).toBe("destroyed");
  expect(entry.wrapped).toBeUndefined();

  const again = await openKeyStore(cfg, { env });
  const ring = again.keyRing();
  let err: unknown;
  try {
    ring.byId(k1.keyId);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(KeyUnavailableError);
  expect((err as KeyUnavailableError).code).toBe("KEY_DESTROYED");
  expect((err as Error).message).toMatch(new RegExp(`key ${k1.keyId} .*was destroyed`));
  expect(() => decryptEnvelopes((id) => ring.byId(id), AD, env1)).toThrow(CryptoError);
  try {
    decryptEnvelopes((id) => ring.byId(id), AD, env1);
  } catch (e) {
    expect((e as CryptoError).code).toBe("KEY_DESTROYED");
  }
  expect(ring.active("c").keyId).toBe(k2.keyId);
  again.close();
});

test("destroying the active key leaves the name without an active key (clear error)", async () => {
  const { cfg, env } = envKeystore(tempDir());
  const ks = await initKeyStore(cfg, { env });
  const k = ks.createKey("only");
  ks.destroy(k.keyId);
  expect(() => ks.keyRing().active("only")).toThrow(/has no active key/);
  try {
    ks.keyRing().active("only");
  } catch (e) {
    expect((e as KeyUnavailableError).code).toBe("NO_ACTIVE_KEY");
  }
  ks.close();
});

test("a KEK with live DEKs cannot be destroyed; an emptied one can", async () => {
  const { cfg, env } = envKeystore(tempDir());
  const ks = await initKeyStore(cfg, { env });
  const dek = ks.createKey("x", { kek: "db1" });
  const kek = ks.list().find((k) => k.level === "kek" && k.name === "db1")!;
  expect(() => ks.destroy(kek.keyId)).toThrow(/still wraps 1 live DEK/);
  ks.destroy(dek.keyId);
  expect(ks.destroy(kek.keyId).state).toBe("destroyed");
  ks.save();
  ks.close();
  const again = await openKeyStore(cfg, { env });
  expect(again.list().filter((k) => k.state === "destroyed")).toHaveLength(2);
  expect(() => again.destroy(99)).toThrow(/key 99 is not in keystore/);
  again.close();
});
