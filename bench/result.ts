// The result of one harness run (what bench/results/<stamp>.json holds and the reports render).
import type { MachineInfo } from "./machine.js";
import type { Measurement, RatioSpec, RunOptions } from "./registry.js";

export interface RatioResult extends RatioSpec {
  /** numerator throughput / denominator throughput; null when either measurement failed. */
  value: number | null;
  /** Whether the bar (atLeast) was met; absent when the ratio has no bar. */
  pass?: boolean;
}

export interface ScenarioResult {
  name: string;
  description: string;
  /** Order the targets were measured in (rotated per scenario to spread drift). */
  order: string[];
  measurements: Measurement[];
  ratios: RatioResult[];
}

export interface BenchResult {
  schema: "smgate-bench/1";
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  options: RunOptions;
  targets: Record<string, Record<string, string | number | boolean>>;
  scenarios: ScenarioResult[];
}

export function computeRatios(specs: readonly RatioSpec[], measurements: readonly Measurement[]): RatioResult[] {
  const ok = (name: string) => measurements.find((m) => m.target === name && !m.error && m.throughput.value > 0);
  return specs.map((spec) => {
    const num = ok(spec.numerator);
    const den = ok(spec.denominator);
    const value = num && den ? num.throughput.value / den.throughput.value : null;
    const result: RatioResult = { ...spec, value };
    if (spec.atLeast !== undefined) result.pass = value !== null && value >= spec.atLeast;
    return result;
  });
}

/** Rotates the target order by `shift` (scenario i starts with target i mod n). */
export function rotate<T>(items: readonly T[], shift: number): T[] {
  if (items.length === 0) return [];
  const k = ((shift % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Every target in the order of first appearance (the first scenario runs unrotated, so its base order). */
export function targetOrder(result: Pick<BenchResult, "scenarios">): string[] {
  const names: string[] = [];
  for (const s of result.scenarios) for (const m of s.measurements) if (!names.includes(m.target)) names.push(m.target);
  return names;
}

/** A scenario's measurements in the common target order (reports show targets in the same place everywhere). */
export function measurementsInOrder(s: ScenarioResult, order: readonly string[]): Measurement[] {
  return [...s.measurements].sort((a, b) => order.indexOf(a.target) - order.indexOf(b.target));
}
