// Saving never silently overwrites another process's changes: a keystore changed on disk since it was opened
// is refused (FILE_CHANGED), and saves are serialised with a lock file whose stale copies are cleared.
import { existsSync, writeFileSync } from "node:fs";
import { afterEach, expect, test } from "vitest";
import { initKeyStore, openKeyStore } from "../../keystore/open.js";
import { withSaveLock } from "../../keystore/save-lock.js";
import { envKeystore, removeTempDirs, tempDir } from "./helpers.js";

afterEach(removeTempDirs);

test("two openers: the second save after the first one is refused, and the first change survives", async () => {
  const { cfg, env } = envKeystore(tempDir());
  (await initKeyStore(cfg, { env })).close();
  const a = await openKeyStore(cfg, { env });
  const b = await openKeyStore(cfg, { env });
  a.createKey("from-a");
  a.save();
  b.createKey("from-b");
  expect(() => b.save()).toThrow(/was changed by another process since it was opened; nothing was written/);
  a.createKey("again-a"); // a saved last, so it may save again
  a.save();
  a.close();
  b.close();
  const c = await openKeyStore(cfg, { env });
  expect(c.keyRing().names()).toEqual(["again-a", "from-a"]);
  c.close();
});

test("a lock left by a dead process is removed; a live one makes save wait, then fail clearly", async () => {
  const { cfg, env } = envKeystore(tempDir());
  const ks = await initKeyStore(cfg, { env });
  writeFileSync(`${cfg.path}.lock`, "999999999"); // no such pid
  ks.createKey("x");
  ks.save();
  expect(existsSync(`${cfg.path}.lock`)).toBe(false);
  ks.close();

  writeFileSync(`${cfg.path}.lock`, String(process.pid)); // alive: this process
  expect(() => withSaveLock(cfg.path, () => 1, 100)).toThrow(`is locked by process ${process.pid}`);
  expect(withSaveLock(`${cfg.path}-other`, () => 42)).toBe(42);
  expect(existsSync(`${cfg.path}-other.lock`)).toBe(false);
});
