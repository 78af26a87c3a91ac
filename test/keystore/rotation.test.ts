// Rotation: a new active DEK per name; old data still decrypts with the now decrypt-only key; new
// encryptions carry the new key id; the state survives save and reopen.
import { afterEach, expect, test } from "vitest";
import { decryptEnvelopes, encryptRnd, envelopeKeyId } from "../../crypto/envelope.js";
import { initKeyStore, openKeyStore } from "../../keystore/open.js";
import { envKeystore, removeTempDirs, tempDir } from "./helpers.js";

afterEach(removeTempDirs);
const AD = Buffer.from("test.people.phone");

test("rotate: old data decrypts with the decrypt-only key, new data uses the new id", async () => {
  const { cfg, env } = envKeystore(tempDir());
  const ks = await initKeyStore(cfg, { env });
  const first = ks.createKey("people");
  const ring = ks.keyRing();
  const oldEnv = encryptRnd(ring.active("people"), AD, [Buffer.from("old value")])[0];
  expect(envelopeKeyId(oldEnv)).toBe(first.keyId);

  const second = ks.rotate("people");
  expect(second.keyId).not.toBe(first.keyId);
  expect(second.state).toBe("active");
  expect(second.parentId).toBe(first.parentId);
  // the live ring sees the rotation without reopening
  expect(ring.active("people").keyId).toBe(second.keyId);
  const newEnv = encryptRnd(ring.active("people"), AD, [Buffer.from("new value")])[0];
  expect(envelopeKeyId(newEnv)).toBe(second.keyId);
  const states = Object.fromEntries(ks.list().map((k) => [k.keyId, k.state]));
  expect(states[first.keyId]).toBe("decrypt-only");
  expect(states[second.keyId]).toBe("active");
  ks.save();
  ks.close();

  const again = await openKeyStore(cfg, { env });
  const r = again.keyRing();
  expect(r.active("people").keyId).toBe(second.keyId);
  const out = decryptEnvelopes((id) => r.byId(id), AD, [oldEnv, newEnv]);
  expect(out.map((b) => b.toString())).toEqual(["old value", "new value"]);
  expect(again.list().find((k) => k.keyId === first.keyId)?.state).toBe("decrypt-only");

  // rotating twice leaves exactly one active key for the name
  const third = again.rotate("people");
  const active = again.list().filter((k) => k.name === "people" && k.state === "active");
  expect(active.map((k) => k.keyId)).toEqual([third.keyId]);
  again.close();
});

test("rotate of an unknown name is a clear error", async () => {
  const { cfg, env } = envKeystore(tempDir());
  const ks = await initKeyStore(cfg, { env });
  expect(() => ks.rotate("nope")).toThrow(/no key named "nope"/);
  ks.close();
});
