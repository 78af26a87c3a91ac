// sysbench 1.0 report parsing on a captured real run (test/bench/samples/sysbench-oltp-read-only.txt: oltp_read_only,
// 8 threads, 2 s, --histogram=on, against MariaDB 10.11): counts, rates, latency block, the histogram, and the
// nearest-rank percentile over histogram buckets.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  histogramPercentile,
  parseSysbenchHistogram,
  parseSysbenchOutput,
  SysbenchOutputError,
} from "../../bench/drivers/sysbench-output.js";

const SAMPLE = readFileSync(new URL("./samples/sysbench-oltp-read-only.txt", import.meta.url), "utf8");

describe("parseSysbenchOutput", () => {
  it("reads the SQL statistics, general statistics and latency block of a real run", () => {
    const s = parseSysbenchOutput(SAMPLE);
    expect(s.transactions).toBe(1418);
    expect(s.tps).toBeCloseTo(693.9, 2);
    expect(s.queries).toBe(22688);
    expect(s.qps).toBeCloseTo(11102.43, 2);
    expect(s.queriesPerformed).toEqual({ read: 19852, write: 0, other: 2836, total: 22688 });
    expect(s.ignoredErrors).toBe(0);
    expect(s.reconnects).toBe(0);
    expect(s.totalTimeSec).toBeCloseTo(2.0379, 4);
    expect(s.events).toBe(1418);
    expect(s.latency).toEqual({
      minMs: 2.32,
      avgMs: 11.32,
      maxMs: 192.83,
      sumMs: 16051.79,
      printed: { percentile: 95, ms: 31.94 },
    });
  });

  it("reads the whole histogram: one bucket per line, counts adding up to the events", () => {
    const h = parseSysbenchHistogram(SAMPLE);
    expect(h).toBeDefined();
    const buckets = h ?? [];
    expect(buckets[0]).toEqual({ valueMs: 2.305, count: 1 });
    expect(buckets[buckets.length - 1]).toEqual({ valueMs: 193.38, count: 1 });
    expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(1418);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i].valueMs).toBeGreaterThan(buckets[i - 1].valueMs);
  });

  it("histogram p95 is the nearest-rank bucket; sysbench's own 95th uses rank floor(0.95·n), one bucket lower here", () => {
    const h = parseSysbenchHistogram(SAMPLE) ?? [];
    const p95 = histogramPercentile(h, 95); // rank ceil(0.95 · 1418) = 1348
    expect(p95).toBe(32.525);
    // sysbench printed 31.94: the bucket where the cumulative count reaches floor(0.95 · 1418) = 1347
    let seen = 0;
    const sysbenchBucket = h.find((b) => {
      seen += b.count;
      return seen >= Math.floor(0.95 * 1418);
    });
    expect(sysbenchBucket?.valueMs.toFixed(2)).toBe("31.95");
    expect(Math.abs((sysbenchBucket?.valueMs ?? 0) - 31.94)).toBeLessThanOrEqual(0.005);
    const p99 = histogramPercentile(h, 99);
    expect(p99).toBeGreaterThan(p95);
    expect(p99).toBeLessThanOrEqual(193.38);
  });

  it("a run without --histogram has no histogram; a truncated report is an error naming the missing line", () => {
    const noHist = SAMPLE.slice(SAMPLE.indexOf("SQL statistics:"));
    expect(parseSysbenchOutput(noHist).histogram).toBeUndefined();
    const cut = SAMPLE.slice(0, SAMPLE.indexOf("    queries:"));
    expect(() => parseSysbenchOutput(cut)).toThrow(SysbenchOutputError);
    expect(() => parseSysbenchOutput(cut)).toThrow(/"queries: N \(R per sec\.\)"/);
    expect(() => parseSysbenchOutput("FATAL: unable to connect to MySQL server")).toThrow(/transactions/);
  });
});

describe("histogramPercentile (nearest rank over buckets)", () => {
  const h = [
    { valueMs: 1, count: 90 },
    { valueMs: 2, count: 9 },
    { valueMs: 5, count: 1 },
  ];

  it("returns the first bucket whose cumulative count reaches ceil(p/100 · n)", () => {
    expect(histogramPercentile(h, 50)).toBe(1);
    expect(histogramPercentile(h, 90)).toBe(1);
    expect(histogramPercentile(h, 91)).toBe(2);
    expect(histogramPercentile(h, 99)).toBe(2);
    expect(histogramPercentile(h, 99.5)).toBe(5);
    expect(histogramPercentile(h, 100)).toBe(5);
  });

  it("NaN for an empty histogram, RangeError for p outside (0, 100]", () => {
    expect(histogramPercentile([], 99)).toBeNaN();
    expect(() => histogramPercentile(h, 0)).toThrow(RangeError);
    expect(() => histogramPercentile(h, 101)).toThrow(RangeError);
  });
});
