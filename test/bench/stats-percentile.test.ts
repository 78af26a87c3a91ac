// Nearest-rank percentiles used for p99 latency: known values and the defining property on random samples.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mean, percentile, percentiles } from "../../bench/stats.js";

describe("percentile (nearest rank)", () => {
  it("gives the k-th smallest of 1..100 for p = k", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // unsorted on purpose
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 100)).toBe(100);
    expect(percentile(samples, 1)).toBe(1);
  });

  it("p99 of 1..1000 is 990 and of 1..10 is 10 (rank rounds up)", () => {
    expect(
      percentile(
        Array.from({ length: 1000 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(990);
    expect(
      percentile(
        Array.from({ length: 10 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(10);
  });

  it("handles one sample, no samples and rejects p outside (0, 100]", () => {
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 99)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it("satisfies the definition: ≥ p% of samples are ≤ it, < p% are < it", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 100 }),
        (samples, p) => {
          const r = percentile(samples, p);
          const le = samples.filter((x) => x <= r).length;
          const lt = samples.filter((x) => x < r).length;
          expect(le * 100).toBeGreaterThanOrEqual(p * samples.length);
          expect(lt * 100).toBeLessThan(p * samples.length);
          expect(samples).toContain(r);
        },
      ),
    );
  });

  it("percentiles() agrees with percentile() and mean is the arithmetic mean", () => {
    const samples = [5, 1, 4, 2, 3];
    expect(percentiles(samples, [20, 60, 100])).toEqual([1, 3, 5]);
    expect(mean(samples)).toBe(3);
  });
});
