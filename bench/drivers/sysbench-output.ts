// Parser of sysbench 1.0's end-of-run report: transactions and queries (count and per second), ignored errors,
// reconnects, latency min/avg/max/sum and its printed percentile, and — when the run used --histogram=on — the
// latency histogram, from which any percentile (p95, p99) is read by nearest rank over the histogram buckets.

export interface SysbenchHistogramBucket {
  /** The bucket's value in ms as sysbench prints it (buckets are logarithmic, about 1.7 % apart at these sizes). */
  valueMs: number;
  count: number;
}

export interface SysbenchSummary {
  transactions: number;
  tps: number;
  queries: number;
  qps: number;
  /** Queries by kind from "queries performed" (read, write, other, total). */
  queriesPerformed: { read: number; write: number; other: number; total: number };
  ignoredErrors: number;
  reconnects: number;
  totalTimeSec: number;
  events: number;
  latency: {
    minMs: number;
    avgMs: number;
    maxMs: number;
    sumMs: number;
    /** The percentile sysbench printed (--percentile, default 95) and its value. */
    printed: { percentile: number; ms: number } | undefined;
  };
  /** Present when the output holds a latency histogram (--histogram=on). */
  histogram?: SysbenchHistogramBucket[];
}

export class SysbenchOutputError extends Error {
  constructor(message: string, output: string) {
    super(`${message}; sysbench output (last lines): ${output.trim().split("\n").slice(-12).join(" | ")}`);
    this.name = "SysbenchOutputError";
  }
}

function numberAfter(text: string, label: RegExp, what: string): number {
  const m = label.exec(text);
  if (!m) throw new SysbenchOutputError(`sysbench output has no "${what}" line`, text);
  return Number(m[1]);
}

function countAndRate(text: string, label: string): { count: number; rate: number } {
  const re = new RegExp(`^\\s*${label}:\\s+(\\d+)\\s+\\(([\\d.]+) per sec\\.\\)`, "m");
  const m = re.exec(text);
  if (!m) throw new SysbenchOutputError(`sysbench output has no "${label}: N (R per sec.)" line`, text);
  return { count: Number(m[1]), rate: Number(m[2]) };
}

/** The histogram lines ("   value |****   count") between "Latency histogram" and the next blank section. */
export function parseSysbenchHistogram(text: string): SysbenchHistogramBucket[] | undefined {
  const start = text.indexOf("Latency histogram");
  if (start < 0) return undefined;
  const buckets: SysbenchHistogramBucket[] = [];
  const lines = text.slice(start).split("\n").slice(2);
  for (const line of lines) {
    const m = /^\s*([\d.]+)\s+\|[* ]*\s(\d+)\s*$/.exec(line);
    if (!m) break;
    buckets.push({ valueMs: Number(m[1]), count: Number(m[2]) });
  }
  return buckets;
}

/**
 * Nearest-rank percentile over histogram buckets: the value of the first bucket at which the cumulative count
 * reaches ceil(p/100 · total). NaN for an empty histogram.
 */
export function histogramPercentile(buckets: readonly SysbenchHistogramBucket[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`histogramPercentile: p must be in (0, 100], got ${p}`);
  const total = buckets.reduce((s, b) => s + b.count, 0);
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p * total) / 100));
  let seen = 0;
  for (const b of buckets) {
    seen += b.count;
    if (seen >= rank) return b.valueMs;
  }
  return buckets[buckets.length - 1].valueMs;
}

export function parseSysbenchOutput(text: string): SysbenchSummary {
  const tx = countAndRate(text, "transactions");
  const q = countAndRate(text, "queries");
  const errors = countAndRate(text, "ignored errors");
  const reconnects = countAndRate(text, "reconnects");
  const performed = (kind: string) => numberAfter(text, new RegExp(`^\\s*${kind}:\\s+(\\d+)\\s*$`, "m"), kind);
  const latencyBlock = text.slice(text.indexOf("Latency (ms):"));
  if (!latencyBlock.startsWith("Latency (ms):"))
    throw new SysbenchOutputError('sysbench output has no "Latency (ms):"', text);
  const lat = (label: string) => numberAfter(latencyBlock, new RegExp(`^\\s*${label}:\\s+([\\d.]+)`, "m"), label);
  const pct = /^\s*(\d+)th percentile:\s+([\d.]+)/m.exec(latencyBlock);
  return {
    transactions: tx.count,
    tps: tx.rate,
    queries: q.count,
    qps: q.rate,
    queriesPerformed: {
      read: performed("read"),
      write: performed("write"),
      other: performed("other"),
      total: performed("total"),
    },
    ignoredErrors: errors.count,
    reconnects: reconnects.count,
    totalTimeSec: numberAfter(text, /^\s*total time:\s+([\d.]+)s/m, "total time"),
    events: numberAfter(text, /^\s*total number of events:\s+(\d+)/m, "total number of events"),
    latency: {
      minMs: lat("min"),
      avgMs: lat("avg"),
      maxMs: lat("max"),
      sumMs: lat("sum"),
      printed: pct ? { percentile: Number(pct[1]), ms: Number(pct[2]) } : undefined,
    },
    histogram: parseSysbenchHistogram(text),
  };
}
