// Markdown report of a run: one row per scenario × target (throughput, p99, failures, RSS), then the ratios
// with their bars, then any failures, headed by the machine and run parameters.
import { type BenchResult, measurementsInOrder, targetOrder } from "../result.js";
import { formatMs, formatRatio, formatThroughput } from "./format.js";

function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function row(cells: string[]): string {
  return `| ${cells.map(cell).join(" | ")} |`;
}

export function renderMarkdown(result: BenchResult): string {
  const { machine: m, options: o } = result;
  const lines: string[] = [];
  const when = result.startedAt.replace("T", " ").replace(/:\d\d\.\d+Z$/, " UTC");
  lines.push(`# smgate benchmark — ${when}`, "");
  lines.push(
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}; Node ${m.node}; ` +
      `${m.postgres.split(" on ")[0]}; ${m.pgbouncer}; ${m.pgbench}. ` +
      `Load average (1/5/15 min) at start ${m.loadAtStart.join(" / ")}` +
      (m.loadAtEnd ? `, at end ${m.loadAtEnd.join(" / ")}` : "") +
      ` (the machine is shared). Commit ${m.gitCommit}.`,
    "",
  );
  lines.push(
    `Run: pgbench ${o.clients} clients, ${o.threads} threads, ${o.durationSec} s per measurement after a ${o.warmupSec} s ` +
      `warm-up per target and query mode, scale ${o.scale}; streaming ${o.streamRows.toLocaleString("en-US")} rows. ` +
      "tps excludes connection time; p99 is the nearest-rank 99th percentile of the per-transaction latencies in " +
      "pgbench's --log files. Targets are measured in a rotated order per scenario. Target CPU is the CPU time " +
      "of a harness-started target's process tree during the measurement divided by its wall time.",
    "",
  );
  lines.push(
    row([
      "Scenario",
      "Target",
      "Throughput",
      "p99 (ms)",
      "avg (ms)",
      "Failed",
      "RSS start → peak (MiB)",
      "Target CPU (cores)",
    ]),
  );
  lines.push("|---|---|---:|---:|---:|---:|---|---:|");
  const order = targetOrder(result);
  for (const s of result.scenarios) {
    for (const meas of measurementsInOrder(s, order)) {
      const tp = meas.error
        ? "error"
        : meas.skipped
          ? "skipped"
          : `${formatThroughput(meas.throughput.value)} ${meas.throughput.unit}`;
      const rss = meas.rss
        ? `${meas.rss.startMiB} → ${meas.rss.peakMiB} (+${meas.rss.growthMiB}${meas.rss.flat ? ", flat" : ", NOT flat"})`
        : "";
      lines.push(
        row([
          s.name,
          meas.target,
          tp,
          formatMs(meas.latencyP99Ms),
          formatMs(meas.latencyAvgMs),
          meas.failed === undefined ? "" : String(meas.failed),
          rss,
          meas.targetCpu ? meas.targetCpu.cores.toFixed(2) : "",
        ]),
      );
    }
  }
  const ratios = result.scenarios.flatMap((s) => s.ratios.map((r) => ({ s, r })));
  if (ratios.length > 0) {
    lines.push("", "## Ratios", "");
    lines.push(row(["Scenario", "Ratio", "Value", "Bar"]));
    lines.push("|---|---|---:|---|");
    for (const { s, r } of ratios) {
      const bar = r.atLeast === undefined ? "" : `≥ ${r.atLeast.toFixed(2)}× ${r.pass ? "met" : "NOT met"}`;
      lines.push(row([s.name, `${r.numerator}/${r.denominator}`, formatRatio(r.value), bar]));
    }
  }
  const failures = result.scenarios.flatMap((s) => s.measurements.filter((x) => x.error).map((x) => ({ s, x })));
  if (failures.length > 0) {
    lines.push("", "## Failures", "");
    for (const { s, x } of failures) lines.push(`- ${s.name} on ${x.target}: ${(x.error ?? "").replace(/\s+/g, " ")}`);
  }
  const skips = result.scenarios.flatMap((s) => s.measurements.filter((x) => x.skipped).map((x) => ({ s, x })));
  if (skips.length > 0) {
    lines.push("", "## Skipped", "");
    for (const { s, x } of skips) lines.push(`- ${s.name} on ${x.target}: ${(x.skipped ?? "").replace(/\s+/g, " ")}`);
  }
  lines.push("");
  return lines.join("\n");
}
