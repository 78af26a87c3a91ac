// Runs the selected scenarios in one go: checks the external tools, starts each needed target once (lazily),
// measures every scenario on its targets in a rotated order, stops everything and returns the result.
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { collectMachineInfo } from "./machine.js";
import { startCpuMeter } from "./proc-cpu.js";
import {
  type BenchContext,
  getTarget,
  type Measurement,
  type RunningTarget,
  type RunOptions,
  type Scenario,
} from "./registry.js";
import { type BenchResult, computeRatios, rotate, type ScenarioResult } from "./result.js";
import { requireTool } from "./tools.js";

export interface RunnerHooks {
  repoRoot: string;
  log: (message: string) => void;
  /** Called with the temp folder as soon as it exists (so a signal handler can remove it). */
  onTmpDir?: (dir: string) => void;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runBenchmark(
  options: RunOptions,
  scenarios: readonly Scenario[],
  hooks: RunnerHooks,
): Promise<BenchResult> {
  // Fail before doing anything when a tool is missing or a scenario names an unknown target.
  requireTool("pgbench");
  requireTool("psql");
  const neededTargets = new Set(scenarios.flatMap((s) => s.targets));
  for (const name of neededTargets) {
    if (!getTarget(name)) throw new Error(`bench: unknown target "${name}" used by a scenario`);
  }
  if (neededTargets.has("pgbouncer")) requireTool("pgbouncer");

  const startedAt = new Date().toISOString();
  const tmpDir = await mkdtemp(join(tmpdir(), "smgate-bench-"));
  hooks.onTmpDir?.(tmpDir);
  const onceCache = new Map<string, Promise<unknown>>();
  const cleanups: (() => Promise<void>)[] = [];
  const ctx: BenchContext = {
    options,
    tmpDir,
    repoRoot: hooks.repoRoot,
    log: hooks.log,
    once<T>(key: string, fn: () => Promise<T>): Promise<T> {
      let p = onceCache.get(key) as Promise<T> | undefined;
      if (!p) {
        p = fn();
        onceCache.set(key, p);
      }
      return p;
    },
    atEnd(fn) {
      cleanups.push(fn);
    },
  };

  const started = new Map<string, Promise<RunningTarget>>();
  const startTarget = (name: string): Promise<RunningTarget> => {
    let p = started.get(name);
    if (!p) {
      const def = getTarget(name);
      if (!def) throw new Error(`bench: unknown target "${name}"`);
      hooks.log(`starting target ${name}`);
      p = def.start(ctx);
      p.catch(() => undefined);
      started.set(name, p);
    }
    return p;
  };

  try {
    const machine = await collectMachineInfo(options, hooks.repoRoot);
    hooks.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, load ${machine.loadAtStart.join(" ")}`);
    const results: ScenarioResult[] = [];
    for (const [index, scenario] of scenarios.entries()) {
      const order = rotate(scenario.targets, index);
      hooks.log(`scenario ${scenario.name}: ${scenario.description} — order ${order.join(", ")}`);
      const measurements: Measurement[] = [];
      let setupError: string | undefined;
      try {
        await scenario.setup?.(ctx);
      } catch (err) {
        setupError = `setup failed: ${errorMessage(err)}`;
        hooks.log(`  ${setupError}`);
      }
      for (const name of order) {
        const failed = (error: string): Measurement => ({ target: name, throughput: { value: 0, unit: "tps" }, error });
        if (setupError) {
          measurements.push(failed(setupError));
          continue;
        }
        let target: RunningTarget;
        try {
          target = await startTarget(name);
        } catch (err) {
          const msg = `target did not start: ${errorMessage(err)}`;
          hooks.log(`  ${name}: ${msg}`);
          measurements.push(failed(msg));
          continue;
        }
        try {
          await scenario.warmup?.(ctx, target);
          const meter = target.pid !== undefined ? startCpuMeter(target.pid) : undefined;
          const m = await scenario.run(ctx, target);
          if (meter) m.targetCpu = meter.stop();
          measurements.push(m);
          hooks.log(`  ${name}: ${formatMeasurementLine(m)}`);
        } catch (err) {
          const sick = target.health?.();
          const msg = errorMessage(err) + (sick ? ` [${sick}]` : "");
          hooks.log(`  ${name}: FAILED ${msg}`);
          measurements.push(failed(msg));
        }
      }
      results.push({
        name: scenario.name,
        description: scenario.description,
        order,
        measurements,
        ratios: computeRatios(scenario.ratios ?? [], measurements),
      });
    }
    const targets: BenchResult["targets"] = {};
    for (const [name, p] of started) {
      try {
        targets[name] = (await p).info;
      } catch (err) {
        targets[name] = { error: errorMessage(err) };
      }
    }
    machine.loadAtEnd = loadavg().map((n) => Math.round(n * 10) / 10);
    return {
      schema: "smgate-bench/1",
      startedAt,
      finishedAt: new Date().toISOString(),
      machine,
      options,
      targets,
      scenarios: results,
    };
  } finally {
    for (const [name, p] of started) {
      const target = await p.catch(() => undefined); // a target that never started has nothing to stop
      try {
        await target?.stop();
      } catch (err) {
        hooks.log(`stopping ${name}: ${errorMessage(err)}`);
      }
    }
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        hooks.log(`clean-up: ${errorMessage(err)}`);
      }
    }
    await rm(tmpDir, { recursive: true, force: true });
  }
}

export function formatMeasurementLine(m: Measurement): string {
  if (m.skipped) return `skipped: ${m.skipped}`;
  const parts = [`${Math.round(m.throughput.value).toLocaleString("en-US")} ${m.throughput.unit}`];
  if (m.latencyP99Ms !== undefined) parts.push(`p99 ${m.latencyP99Ms.toFixed(2)} ms`);
  if (m.failed !== undefined) parts.push(`failed ${m.failed}`);
  if (m.rss) parts.push(`RSS ${m.rss.startMiB} → ${m.rss.peakMiB} MiB`);
  if (m.targetCpu) parts.push(`target CPU ${m.targetCpu.cores} cores`);
  return parts.join(", ");
}
