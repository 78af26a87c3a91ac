// Hand-written SVG bar chart of a run, as small multiples: one panel per scenario with its own y axis and
// unit (tps, rows/s), one bar per target (same colour per target everywhere), value labels on the bars and
// the scenario's ratios written under the panel (red when a bar is missed).
import type { Measurement } from "../registry.js";
import { type BenchResult, measurementsInOrder, type ScenarioResult } from "../result.js";
import { formatCompact, formatRatio } from "./format.js";

const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"];
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

const BAR_W = 40;
const BAR_GAP = 10;
const PANEL_W = 300;
const AXIS_W = 52; // room for tick labels left of the plot
const PLOT_H = 200;
const TITLE_H = 40; // scenario name + unit above the plot
const VALUE_H = 14; // value labels above the tallest bar
const LINE_H = 15;
const MARGIN = 20;
const HEADER_H = 78;
const COLUMNS = 3;

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** A "nice" axis maximum and step (1, 2, 2.5 or 5 × 10^k) giving about `ticks` intervals. */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { max: 1, step: 0.2 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

function text(x: number, y: number, body: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attrs ? ` ${attrs}` : ""}>${escapeXml(body)}</text>`;
}

function unitOf(s: ScenarioResult): string {
  const ok = s.measurements.find((m) => !m.error);
  return ok?.throughput.unit ?? s.measurements[0]?.throughput.unit ?? "tps";
}

function rssLabel(m: Measurement): string {
  const r = m.rss;
  if (!r) return "";
  return `${m.target} RSS ${r.startMiB} → ${r.peakMiB} MiB (${r.flat ? "flat" : "NOT flat"})`;
}

function ratioLabel(r: ScenarioResult["ratios"][number]): string {
  return `${r.numerator}/${r.denominator} ${formatRatio(r.value)}${r.atLeast !== undefined ? ` (bar ≥ ${r.atLeast}×)` : ""}`;
}

/** Renders the chart; `title` heads it (default: date of the run). */
export function renderSvg(result: BenchResult, title?: string): string {
  const targets: string[] = [];
  for (const s of result.scenarios)
    for (const m of s.measurements) if (!targets.includes(m.target)) targets.push(m.target);
  const colour = (t: string) => PALETTE[targets.indexOf(t) % PALETTE.length];

  const n = result.scenarios.length;
  const columns = Math.max(1, Math.min(COLUMNS, n));
  const rows = Math.ceil(n / columns);
  const maxRatios = Math.max(
    0,
    ...result.scenarios.map((s) => s.ratios.length + s.measurements.filter((m) => m.rss).length),
  );
  const panelH = TITLE_H + VALUE_H + PLOT_H + 8 + LINE_H * maxRatios + 18;
  const width = Math.max(MARGIN * 2 + columns * PANEL_W, 640);
  const height = HEADER_H + rows * panelH + MARGIN;

  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${escapeXml(FONT)}" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  const m = result.machine;
  const heading = title ?? `smgate benchmark — ${result.startedAt.slice(0, 16).replace("T", " ")} UTC`;
  out.push(text(MARGIN, 28, heading, `font-size="17" font-weight="600" fill="#222"`));
  const sub =
    `${m.cpuModel}, ${m.cores} cores · pgbench ${result.options.clients} clients, ${result.options.durationSec} s per run · ` +
    `load ${m.loadAtStart.join(" / ")} · throughput, higher is better`;
  out.push(text(MARGIN, 47, sub, `fill="#666" font-size="11.5"`));
  let lx = MARGIN;
  for (const t of targets) {
    out.push(`<rect x="${lx}" y="58" width="12" height="12" rx="2" fill="${colour(t)}"/>`);
    out.push(text(lx + 17, 68.5, t, `fill="#333" font-size="12"`));
    lx += 34 + t.length * 7;
  }

  result.scenarios.forEach((s, i) => {
    const px = MARGIN + (i % columns) * PANEL_W;
    const py = HEADER_H + Math.floor(i / columns) * panelH;
    out.push(panel(s, targets, px, py, colour));
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function panel(
  s: ScenarioResult,
  order: readonly string[],
  px: number,
  py: number,
  colour: (t: string) => string,
): string {
  const unit = unitOf(s);
  const out: string[] = [];
  out.push(`<g class="panel" data-scenario="${escapeXml(s.name)}" data-unit="${escapeXml(unit)}">`);
  const plotLeft = px + AXIS_W;
  const plotRight = px + PANEL_W - 16;
  const plotTop = py + TITLE_H + VALUE_H;
  const plotBottom = plotTop + PLOT_H;
  out.push(text(plotLeft, py + 16, s.name, `font-size="13" font-weight="600" fill="#222"`));
  out.push(text(plotLeft, py + 31, unit, `font-size="11" fill="#777"`));

  const values = s.measurements.filter((m) => !m.error).map((m) => m.throughput.value);
  const scale = niceScale(Math.max(0, ...values), 4);
  const y = (v: number) => plotBottom - (v / scale.max) * PLOT_H;
  for (let k = 0; k * scale.step <= scale.max + 1e-9; k++) {
    const v = k * scale.step;
    const yy = y(v).toFixed(1);
    out.push(
      `<line x1="${plotLeft}" x2="${plotRight}" y1="${yy}" y2="${yy}" stroke="${k === 0 ? "#999" : "#e6e6e6"}"/>`,
    );
    out.push(text(plotLeft - 6, y(v) + 4, formatCompact(v), `text-anchor="end" fill="#777" font-size="10.5"`));
  }
  const barsW = s.measurements.length * (BAR_W + BAR_GAP) - BAR_GAP;
  let bx = plotLeft + (plotRight - plotLeft - barsW) / 2;
  for (const m of measurementsInOrder(s, order)) {
    out.push(bar(m, bx, y, plotBottom, colour(m.target)));
    bx += BAR_W + BAR_GAP;
  }
  const notes = [
    ...s.ratios.map((r) => ({ label: ratioLabel(r), miss: r.pass === false })),
    ...s.measurements.filter((m) => m.rss).map((m) => ({ label: rssLabel(m), miss: m.rss?.flat === false })),
  ];
  notes.forEach((note, i) => {
    const miss = note.miss;
    out.push(
      text(
        plotLeft,
        plotBottom + 8 + LINE_H * (i + 1),
        note.label,
        `font-size="11.5" fill="${miss ? "#c0392b" : "#444"}"${miss ? ' font-weight="600"' : ""}`,
      ),
    );
  });
  out.push("</g>");
  return out.join("\n");
}

function bar(m: Measurement, x: number, y: (v: number) => number, bottom: number, fill: string): string {
  const title = `${m.target}: ${m.error ? `error: ${m.error}` : `${Math.round(m.throughput.value)} ${m.throughput.unit}`}`;
  if (m.error) {
    return `<g><title>${escapeXml(title)}</title>${text(x + BAR_W / 2, bottom - 6, "failed", `text-anchor="middle" fill="#c0392b" font-size="10.5"`)}</g>`;
  }
  const top = y(m.throughput.value);
  const h = Math.max(0, bottom - top);
  return (
    `<g><title>${escapeXml(title)}</title>` +
    `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${BAR_W}" height="${h.toFixed(1)}" rx="2" fill="${fill}"/>` +
    text(
      x + BAR_W / 2,
      top - 4,
      formatCompact(m.throughput.value),
      `text-anchor="middle" fill="#333" font-size="10.5"`,
    ) +
    "</g>"
  );
}
