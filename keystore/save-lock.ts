// A short-lived lock file ("<keystore>.lock", O_EXCL, holding the owner's pid) taken around the
// check-then-write of KeyStore.save(), so two processes cannot interleave saves of the same keystore.
// A lock left by a process that no longer exists is removed.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { KeystoreError } from "./errors.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function withSaveLock<T>(path: string, fn: () => T, timeoutMs = 5000): T {
  const lock = `${path}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lock, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(lock, "utf8"));
      } catch {
        continue; // released meanwhile
      }
      if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
        try {
          unlinkSync(lock);
        } catch {
          // someone else removed it
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new KeystoreError(
          "FILE_CHANGED",
          `keystore file ${path} is locked by process ${owner} (${lock}); try again, or remove the lock if that process is gone`,
        );
      }
      sleepMs(20);
    }
  }
  try {
    return fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // already gone
    }
  }
}
