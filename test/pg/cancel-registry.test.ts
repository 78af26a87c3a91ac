// Cancel keys: smgate's own random keys, the worker index in the top bits of the pid, constant-time
// secret check, and routing of a key issued by another worker (cluster) through the router.
import { describe, expect, it } from "vitest";
import { CancelRegistry, workerOfCancelPid } from "../../proxy/pg/cancel.js";

const target = (pid: number, secret: number) => ({ backend: { host: "127.0.0.1", port: 1 }, pid, secret });

describe("CancelRegistry", () => {
  it("issues distinct random keys carrying the worker index, and finds them only with the right secret", () => {
    const r = new CancelRegistry(5);
    const keys = Array.from({ length: 200 }, (_, i) => r.issue(target(1000 + i, i)));
    expect(new Set(keys.map((k) => k.pid)).size).toBe(200);
    for (const k of keys) {
      expect(workerOfCancelPid(k.pid)).toBe(5);
      expect(k.pid).toBeGreaterThan(0);
      expect(r.lookup(k.pid, k.secret)).toBeDefined();
      expect(r.lookup(k.pid, k.secret ^ 1)).toBeUndefined();
    }
    r.release(keys[0].pid);
    expect(r.lookup(keys[0].pid, keys[0].secret)).toBeUndefined();
    expect(r.size).toBe(199);
  });

  it("routes a cancel for another worker's key through the router, and drops it without one", async () => {
    const mine = new CancelRegistry(1);
    const other = new CancelRegistry(2);
    const k = other.issue(target(42, 43));
    expect(await mine.cancel(k.pid, k.secret)).toBe(false);
    const routed: number[][] = [];
    mine.router = async (worker, pid, secret) => {
      routed.push([worker, pid, secret]);
      return true;
    };
    expect(await mine.cancel(k.pid, k.secret)).toBe(true);
    expect(routed).toEqual([[2, k.pid, k.secret]]);
  });

  it("rejects worker indexes outside 0..127", () => {
    expect(() => new CancelRegistry(128)).toThrow(RangeError);
  });
});
