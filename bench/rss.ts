// Resident set size of a process and its descendants, read from /proc (VmRSS), sampled on an interval while a
// scenario runs. Summing the tree covers a gateway that forks workers (node:cluster).
import { readdirSync, readFileSync } from "node:fs";
import type { RssSummary } from "./registry.js";

/** VmRSS of one process in KiB, or undefined when it is gone. */
export function readVmRssKiB(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) : 0; // a zombie has no VmRSS line
}

/** Direct children of a process, from /proc/<pid>/task/<tid>/children (all threads). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text) for (const c of text.split(/\s+/)) out.push(Number(c));
    } catch {
      // thread ended meanwhile
    }
  }
  return out;
}

/** The process and all its descendants. */
export function processTree(pid: number): number[] {
  const seen = new Set<number>();
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    if (seen.has(p)) continue;
    seen.add(p);
    stack.push(...childPids(p));
  }
  return [...seen];
}

/** Sum of VmRSS (KiB) over the tree rooted at `pid`; undefined when the root is gone. */
export function treeRssKiB(pid: number): number | undefined {
  const root = readVmRssKiB(pid);
  if (root === undefined) return undefined;
  let total = root;
  for (const p of processTree(pid)) if (p !== pid) total += readVmRssKiB(p) ?? 0;
  return total;
}

export interface RssSampler {
  /** Stops sampling and summarises (MiB). */
  stop(): RssSummary;
}

/** Default flatness threshold: growth of the peak over the start below this is "flat". */
export const FLAT_THRESHOLD_MIB = 64;

/** Samples `treeRssKiB(pid)` every `intervalMs` from now until `stop()`. */
export function startRssSampler(pid: number, intervalMs = 100, flatThresholdMiB = FLAT_THRESHOLD_MIB): RssSampler {
  const samples: number[] = [];
  const sample = () => {
    const kib = treeRssKiB(pid);
    if (kib !== undefined) samples.push(kib);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return summariseRss(samples, intervalMs, flatThresholdMiB);
    },
  };
}

/** Start/peak/end of KiB samples, in MiB. */
export function summariseRss(samplesKiB: readonly number[], intervalMs: number, flatThresholdMiB: number): RssSummary {
  if (samplesKiB.length === 0) throw new Error("bench: no RSS samples (did the process exit?)");
  const toMiB = (kib: number) => Math.round((kib / 1024) * 10) / 10;
  const start = samplesKiB[0];
  const peak = Math.max(...samplesKiB);
  const growthMiB = toMiB(peak - start);
  return {
    startMiB: toMiB(start),
    peakMiB: toMiB(peak),
    endMiB: toMiB(samplesKiB[samplesKiB.length - 1]),
    growthMiB,
    samples: samplesKiB.length,
    intervalMs,
    flat: growthMiB < flatThresholdMiB,
    flatThresholdMiB,
    seriesMiB: thin(samplesKiB, 300).map(toMiB),
  };
}

/** At most `max` points: each point is the maximum of its window (so the peak survives thinning). */
export function thin(samples: readonly number[], max: number): number[] {
  if (samples.length <= max) return [...samples];
  const out: number[] = [];
  const step = samples.length / max;
  for (let i = 0; i < max; i++) {
    let m = -Infinity;
    for (let j = Math.floor(i * step); j < Math.floor((i + 1) * step); j++) m = Math.max(m, samples[j]);
    out.push(m);
  }
  return out;
}
