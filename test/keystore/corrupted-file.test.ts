// A damaged or edited keystore file is always refused with a typed error naming the file — flipped bytes,
// truncation at every length, and targeted edits of JSON fields. It never opens into different keys.
import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { KeystoreError } from "../../keystore/errors.js";
import { unwrapEntry } from "../../keystore/keystore.js";
import { initKeyStore, openKeyStore } from "../../keystore/open.js";
import type { KeystoreConfig } from "../../keystore/types.js";
import { keyAd, parentDataKey, wrapUnder } from "../../keystore/wrap.js";
import { clearKeys, envKeystore, fileKeystore, removeTempDirs, tempDir, WEAK } from "./helpers.js";

afterEach(removeTempDirs);

let cfg: KeystoreConfig;
let env: NodeJS.ProcessEnv;
let original: string;
let originalKeys: string;

const summary = (keys: ReturnType<typeof clearKeys>) =>
  JSON.stringify(keys.map((k) => [k.keyId, k.name, k.level, k.state, k.createdAt, k.parentId, k.key?.toString("hex")]));

beforeEach(async () => {
  ({ cfg, env } = envKeystore(tempDir()));
  const ks = await initKeyStore(cfg, { env });
  ks.createKey("alpha");
  ks.createKey("beta", { kek: "db2" });
  ks.rotate("alpha");
  ks.save();
  originalKeys = summary(clearKeys(ks));
  ks.close();
  original = readFileSync(cfg.path, "utf8");
});

/** Opens `text` as the keystore: returns "refused:<code>" or "same" (identical keys); anything else fails. */
async function outcome(text: string | Buffer): Promise<string> {
  writeFileSync(cfg.path, text);
  let ks: Awaited<ReturnType<typeof openKeyStore>>;
  try {
    ks = await openKeyStore(cfg, { env });
  } catch (e) {
    if (!(e instanceof KeystoreError)) throw new Error(`non-typed error: ${(e as Error).stack}`);
    expect(e.message).toContain(cfg.path);
    return `refused:${e.code}`;
  }
  const got = summary(clearKeys(ks));
  ks.close();
  if (got !== originalKeys) throw new Error("a modified file opened into different keys");
  return "same";
}

describe("byte flips", () => {
  test("flipping any single byte (2 different masks) is refused or changes nothing", async () => {
    const bytes = Buffer.from(original, "utf8");
    const codes = new Map<string, number>();
    for (const mask of [0x01, 0x80]) {
      for (let i = 0; i < bytes.length; i++) {
        const b = Buffer.from(bytes);
        b[i] ^= mask;
        const o = await outcome(b);
        codes.set(o, (codes.get(o) ?? 0) + 1);
      }
    }
    // the only harmless flips are in whitespace that stays whitespace (none with these masks) — so all refused
    expect(codes.get("same") ?? 0).toBe(0);
    expect([...codes.keys()].every((c) => c.startsWith("refused:"))).toBe(true);
    expect(codes.get("refused:FILE_TAMPERED")).toBeGreaterThan(100);
    expect(codes.get("refused:FILE_CORRUPT")).toBeGreaterThan(100);
  }, 120_000);
});

describe("truncation", () => {
  test("every truncated prefix is refused as FILE_CORRUPT (dropping only the final newline is harmless)", async () => {
    const bytes = Buffer.from(original, "utf8");
    for (let len = 0; len < bytes.length - 1; len++) {
      expect(await outcome(bytes.subarray(0, len))).toBe("refused:FILE_CORRUPT");
    }
    expect(await outcome(bytes.subarray(0, bytes.length - 1))).toBe("same");
  }, 120_000);
});

describe("edited JSON fields", () => {
  type Doc = {
    master_key_id: number;
    integrity_key: string;
    mac: string;
    provider: Record<string, unknown>;
    keys: {
      id: number | string;
      name: string;
      state: string;
      created_at: string;
      wrapped?: string;
      parent: number;
      level: string;
    }[];
  };
  const edit = (fn: (d: Doc) => void) => {
    const d = JSON.parse(original) as Doc;
    fn(d);
    return JSON.stringify(d, null, 2);
  };
  const deks = (d: Doc) => d.keys.filter((k) => k.level === "dek");

  test.each([
    ["rename a key", (d: Doc) => (deks(d)[0].name = "gamma"), "FILE_TAMPERED"],
    [
      "decrypt-only → active… and active → decrypt-only",
      (d: Doc) => {
        const a = d.keys.filter((k) => k.name === "alpha");
        a[0].state = "active";
        a[1].state = "decrypt-only";
      },
      "FILE_TAMPERED",
    ],
    [
      "two active keys for one name",
      (d: Doc) => {
        for (const k of d.keys.filter((k) => k.name === "alpha")) k.state = "active";
      },
      "FILE_CORRUPT",
    ],
    [
      "swap the wrapped blobs of two DEKs",
      (d: Doc) => {
        const [x, y] = deks(d);
        [x.wrapped, y.wrapped] = [y.wrapped, x.wrapped];
      },
      "FILE_TAMPERED",
    ],
    ["change a creation time", (d: Doc) => (d.keys[0].created_at = "2020-01-01T00:00:00.000Z"), "FILE_TAMPERED"],
    ["delete a key", (d: Doc) => d.keys.pop(), "FILE_TAMPERED"],
    [
      "duplicate a key under a new id",
      (d: Doc) => d.keys.push({ ...deks(d)[0], id: 424242, state: "decrypt-only" }),
      "FILE_TAMPERED",
    ],
    ["mark a key destroyed but keep it", (d: Doc) => (deks(d)[0].state = "destroyed"), "FILE_CORRUPT"],
    ["drop the material of a live key", (d: Doc) => delete deks(d)[0].wrapped, "FILE_CORRUPT"],
    ["non-numeric key id", (d: Doc) => (d.keys[1].id = "12"), "FILE_CORRUPT"],
    ["DEK moved under a non-KEK parent", (d: Doc) => (deks(d)[0].parent = deks(d)[1].id as number), "FILE_CORRUPT"],
    ["replace the MAC", (d: Doc) => (d.mac = "0".repeat(64)), "FILE_TAMPERED"],
    ["edit the integrity key", (d: Doc) => (d.integrity_key = `AA${d.integrity_key.slice(2)}`), "FILE_TAMPERED"],
    ["change the master key id", (d: Doc) => (d.master_key_id = 7), "FILE_CORRUPT"],
    ["unknown format name", (d: Doc) => ((d as unknown as { format: string }).format = "other"), "FILE_CORRUPT"],
  ])("%s → %s", async (_what, fn, code) => {
    expect(await outcome(edit(fn))).toBe(`refused:${code}`);
  });

  test("errors name the field that is malformed", async () => {
    writeFileSync(
      cfg.path,
      edit((d) => (d.keys[1].id = "12")),
    );
    await expect(openKeyStore(cfg, { env })).rejects.toThrow(/keys\.1\.id/);
  });

  test("empty file and non-JSON say so", async () => {
    writeFileSync(cfg.path, "");
    await expect(openKeyStore(cfg, { env })).rejects.toThrow(`keystore file ${cfg.path} is empty`);
    writeFileSync(cfg.path, "{ not json");
    await expect(openKeyStore(cfg, { env })).rejects.toThrow(/is not valid JSON \(truncated or corrupted\)/);
  });
});

describe("file provider KDF fields", () => {
  test("raising the iteration count or changing the salt → wrong passphrase; lowering it → WEAK_KDF", async () => {
    const { cfg: fcfg, passphrase } = fileKeystore(tempDir());
    (await initKeyStore(fcfg, { passphrase, kdfIterations: 200_000 })).close();
    const text = readFileSync(fcfg.path, "utf8");
    const withKdf = (patch: Record<string, unknown>) => {
      const d = JSON.parse(text);
      Object.assign(d.provider.kdf, patch);
      writeFileSync(fcfg.path, JSON.stringify(d));
    };
    withKdf({ iterations: 200_001 });
    await expect(openKeyStore(fcfg, { passphrase })).rejects.toMatchObject({ code: "WRONG_PASSPHRASE" });
    withKdf({ salt: Buffer.alloc(16, 1).toString("base64") });
    await expect(openKeyStore(fcfg, { passphrase })).rejects.toMatchObject({ code: "WRONG_PASSPHRASE" });
    withKdf({ iterations: 1000 });
    await expect(openKeyStore(fcfg, { passphrase })).rejects.toMatchObject({ code: "WEAK_KDF" });
  });

  test("a file written with a test-only KDF count still opens in tests", async () => {
    const { cfg: fcfg, passphrase } = fileKeystore(tempDir());
    (await initKeyStore(fcfg, { passphrase, ...WEAK })).close();
    (await openKeyStore(fcfg, { passphrase, allowWeakKdfForTests: true })).close();
  });
});

describe("wrap associated data", () => {
  test("a blob wrapped for one entry does not unwrap for another (id, name or level differ)", () => {
    const kek = Buffer.alloc(16, 7);
    const dek = Buffer.alloc(16, 9);
    const blob = wrapUnder(parentDataKey(11, kek), keyAd("dek", "alpha", 100), dek).toString("base64");
    const entry = {
      id: 100,
      name: "alpha",
      level: "dek" as const,
      parent: 11,
      state: "active" as const,
      created_at: "t",
      wrapped: blob,
    };
    expect(unwrapEntry("ks.json", entry, { kekId: 11, kek })).toEqual(dek);
    for (const other of [
      { ...entry, id: 101 },
      { ...entry, name: "beta" },
      { ...entry, level: "kek" as const },
    ]) {
      expect(() => unwrapEntry("ks.json", other, { kekId: 11, kek })).toThrow(/does not authenticate/);
    }
    // and not under another KEK
    expect(() => unwrapEntry("ks.json", entry, { kekId: 12, kek })).toThrow(KeystoreError);
    expect(() => unwrapEntry("ks.json", entry, { kekId: 11, kek: Buffer.alloc(16, 8) })).toThrow(KeystoreError);
  });
});
