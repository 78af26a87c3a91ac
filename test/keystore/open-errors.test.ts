// Wrong secrets, unknown ids/names, weak KDF parameters, missing files and mismatched configuration all give
// a typed KeystoreError with a message that names the file or key and says what is wrong.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { KeystoreError, KeyUnavailableError } from "../../keystore/errors.js";
import { initKeyStore, openKeyStore } from "../../keystore/open.js";
import { envKeystore, fileKeystore, removeTempDirs, tempDir, WEAK } from "./helpers.js";

afterEach(removeTempDirs);

async function failure(p: Promise<unknown>): Promise<KeystoreError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KeystoreError);
    return e as KeystoreError;
  }
  throw new Error("expected a KeystoreError");
}

describe("secrets", () => {
  test("wrong passphrase → WRONG_PASSPHRASE naming the file", async () => {
    const { cfg, passphrase } = fileKeystore(tempDir());
    (await initKeyStore(cfg, { passphrase, ...WEAK })).close();
    const e = await failure(openKeyStore(cfg, { passphrase: passphrase + "x", allowWeakKdfForTests: true }));
    expect(e.code).toBe("WRONG_PASSPHRASE");
    expect(e.message).toContain(`wrong passphrase for keystore file ${cfg.path}`);
    expect(e.message).not.toContain(passphrase);
  });

  test("wrong env master key → clear error, value not echoed", async () => {
    const { cfg, env } = envKeystore(tempDir());
    (await initKeyStore(cfg, { env })).close();
    const other = "00112233445566778899aabbccddeeff";
    const e = await failure(openKeyStore(cfg, { env: { SMG_TEST_MASTER: other } }));
    expect(e.code).toBe("WRONG_PASSPHRASE");
    expect(e.message).toContain("SMG_TEST_MASTER does not open keystore file");
    expect(e.message).not.toContain(other);
  });

  test("malformed env master key → PROVIDER error naming the variable only", async () => {
    const { cfg } = envKeystore(tempDir());
    const e = await failure(initKeyStore(cfg, { env: { SMG_TEST_MASTER: "not-a-key-123" } }));
    expect(e.code).toBe("PROVIDER");
    expect(e.message).toMatch(/SMG_TEST_MASTER must hold a 16-byte master key/);
    expect(e.message).not.toContain("not-a-key-123");
    const unset = await failure(initKeyStore(cfg, { env: {} }));
    expect(unset.message).toMatch(/SMG_TEST_MASTER .* is not set/);
  });

  test("base64 master key is accepted", async () => {
    const { cfg, master } = envKeystore(tempDir());
    const env = { SMG_TEST_MASTER: master.toString("base64") };
    (await initKeyStore(cfg, { env })).close();
    const ks = await openKeyStore(cfg, { env: { SMG_TEST_MASTER: master.toString("hex") } });
    ks.close();
  });

  test("a new keystore passphrase needs at least 8 characters", async () => {
    const { cfg } = fileKeystore(tempDir());
    const e = await failure(initKeyStore(cfg, { passphrase: "1234567", ...WEAK }));
    expect(e.message).toBe("the keystore passphrase must have at least 8 characters");
  });

  test("no passphrase and no terminal → says which variable to set", async () => {
    const { cfg } = fileKeystore(tempDir());
    cfg.passphrase_env = "SMG_NOT_SET_ANYWHERE";
    const e = await failure(initKeyStore(cfg, { env: {} }));
    expect(e.message).toContain("SMG_NOT_SET_ANYWHERE");
  });
});

describe("KDF floor", () => {
  test("creating with fewer than 200,000 iterations is refused unless a test asks for it", async () => {
    const { cfg, passphrase } = fileKeystore(tempDir());
    const e = await failure(initKeyStore(cfg, { passphrase, kdfIterations: 199_999 }));
    expect(e.code).toBe("WEAK_KDF");
    expect(e.message).toContain("below the minimum of 200000");
  });

  test("a file declaring fewer iterations is refused in production", async () => {
    const { cfg, passphrase } = fileKeystore(tempDir());
    (await initKeyStore(cfg, { passphrase, ...WEAK })).close();
    const e = await failure(openKeyStore(cfg, { passphrase }));
    expect(e.code).toBe("WEAK_KDF");
    expect(e.message).toContain(cfg.path);
    expect(e.message).toContain("1000");
  });
});

describe("unknown keys", () => {
  test("unknown key id / name → KeyUnavailableError with the id or name", async () => {
    const { cfg, env } = envKeystore(tempDir());
    const ks = await initKeyStore(cfg, { env });
    ks.createKey("a");
    const ring = ks.keyRing();
    const kek = ks.list().find((k) => k.level === "kek")!;
    const check = (fn: () => unknown, code: string, text: RegExp) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(KeyUnavailableError);
        expect((e as KeyUnavailableError).code).toBe(code);
        expect((e as Error).message).toMatch(text);
        return;
      }
      throw new Error("expected KeyUnavailableError");
    };
    check(() => ring.byId(12345), "UNKNOWN_KEY", new RegExp(`key 12345 is not in keystore ${cfg.path}`));
    check(() => ring.byId(kek.keyId), "UNKNOWN_KEY", /is a KEK, not a data key/);
    check(() => ring.active("nope"), "UNKNOWN_NAME", /no key named "nope"/);
    expect(() => ks.createKey("a")).toThrow(/already exists/);
    expect(() => ks.createKey("bad name!")).toThrow(/key name "bad name!" is invalid/);
    ks.close();
  });
});

describe("files and configuration", () => {
  test("missing file", async () => {
    const dir = tempDir();
    const e = await failure(openKeyStore({ provider: "env", path: join(dir, "nope.json"), master_key_env: "X" }));
    expect(e.code).toBe("FILE_MISSING");
    expect(e.message).toContain("nope.json does not exist");
  });

  test("a keystore path in a missing folder gives a clear error", async () => {
    const { cfg, env } = envKeystore(tempDir());
    const e = await failure(initKeyStore({ ...cfg, path: join(cfg.path, "..", "no-such-dir", "k.json") }, { env }));
    expect(e.code).toBe("CONFIG");
    expect(e.message).toMatch(/cannot write keystore file .*no-such-dir\/k\.json \(ENOENT\)/);
  });

  test("provider in config differs from the file's", async () => {
    const { cfg, env } = envKeystore(tempDir());
    (await initKeyStore(cfg, { env })).close();
    const e = await failure(openKeyStore({ ...cfg, provider: "file" }, { passphrase: "x" }));
    expect(e.code).toBe("CONFIG");
    expect(e.message).toContain('created with provider "env"');
  });

  test("a newer format version is named as such", async () => {
    const { cfg, env } = envKeystore(tempDir());
    (await initKeyStore(cfg, { env })).close();
    const doc = JSON.parse(readFileSync(cfg.path, "utf8"));
    doc.version = 2;
    writeFileSync(cfg.path, JSON.stringify(doc));
    const e = await failure(openKeyStore(cfg, { env }));
    expect(e.code).toBe("UNSUPPORTED_VERSION");
    expect(e.message).toContain("format version 2");
  });
});
