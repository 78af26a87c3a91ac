// A written keystore file holds no key bytes in clear: no master, KEK, DEK or derived subkey appears in any
// encoding (hex, base64, base64url, raw) nor inside any decoded base64/hex string value of the file.
import { pbkdf2Sync } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterEach, expect, test } from "vitest";
import { initKeyStore } from "../../keystore/open.js";
import { clearKeys, containsKey, envKeystore, fileKeystore, removeTempDirs, tempDir, WEAK } from "./helpers.js";

afterEach(removeTempDirs);

test("the scanner itself finds a key planted in a file (positive control)", () => {
  const key = Buffer.from("00112233445566778899aabbccddeeff", "hex");
  expect(containsKey(`{"x":"${key.toString("hex")}"}`, key)).toBe(true);
  expect(containsKey(`{"x":"${Buffer.concat([Buffer.from([1, 2]), key]).toString("base64")}"}`, key)).toBe(true);
  expect(containsKey(`{"x":"${key.toString("base64url")}"}`, key)).toBe(true);
  expect(containsKey(`{"x":"${Buffer.alloc(16).toString("base64")}"}`, key)).toBe(false);
});

test("env provider: neither the master nor any KEK/DEK/subkey is in the file", async () => {
  const { cfg, env, master } = envKeystore(tempDir());
  const ks = await initKeyStore(cfg, { env });
  for (const n of ["a", "b", "c"]) ks.createKey(n);
  ks.createKey("d", { kek: "db2" });
  ks.rotate("a");
  ks.save();
  const keys = clearKeys(ks);
  const ring = ks.keyRing();
  const subkeys = ring.names().flatMap((n) => [ring.active(n).enc, ring.active(n).fpe]);
  ks.close();
  const text = readFileSync(cfg.path, "utf8");
  expect(keys.filter((k) => k.key).length).toBe(7); // 2 KEKs + 5 DEKs
  for (const k of [master, ...keys.map((k) => k.key!), ...subkeys]) expect(containsKey(text, k)).toBe(false);
});

test("file provider: the PBKDF2-derived master and all keys are absent", async () => {
  const { cfg, passphrase } = fileKeystore(tempDir());
  const ks = await initKeyStore(cfg, { passphrase, ...WEAK });
  ks.createKey("x");
  ks.save();
  const keys = clearKeys(ks);
  ks.close();
  const text = readFileSync(cfg.path, "utf8");
  const kdf = JSON.parse(text).provider.kdf;
  const master = pbkdf2Sync(passphrase, Buffer.from(kdf.salt, "base64"), kdf.iterations, 16, "sm3");
  for (const k of [master, ...keys.map((k) => k.key!)]) expect(containsKey(text, k)).toBe(false);
  expect(text).not.toContain(passphrase);
});
