// Number formatting shared by the markdown and SVG reports.

/** 41234.5 → "41,235"; small values keep 1–2 decimals. */
export function formatThroughput(v: number): string {
  if (!Number.isFinite(v)) return "–";
  if (v >= 100) return Math.round(v).toLocaleString("en-US");
  return v.toFixed(v >= 10 ? 1 : 2);
}

/** 41234 → "41.2k", 1_520_000 → "1.52M" (bar labels). */
export function formatCompact(v: number): string {
  if (!Number.isFinite(v)) return "–";
  const abs = Math.abs(v);
  if (abs >= 1e6) return `${trim((v / 1e6).toPrecision(3))}M`;
  if (abs >= 1e3) return `${trim((v / 1e3).toPrecision(3))}k`;
  return trim(v.toPrecision(3));
}

function trim(s: string): string {
  return s.includes(".") && !s.includes("e") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

export function formatMs(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "";
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function formatRatio(v: number | null): string {
  return v === null ? "n/a" : `${v.toFixed(2)}×`;
}
