// Discovery scan: samples every table of a live database through a DbInspector, runs the detectors on each
// candidate column's values and reports, per column, the best detector with its hit rate.
import type { ColumnInfo, DbInspector, TableInfo } from "../db/inspector.js";
import type { Detector, Suggestion } from "./detectors.js";

export interface ColumnFinding {
  /** "schema.table" as in the catalog */
  table: string;
  column: string;
  typeText: string;
  kind: ColumnInfo["kind"];
  detector: string;
  hits: number;
  /** non-empty values examined */
  sampled: number;
  hitRate: number;
  suggest: Suggestion;
  aboveThreshold: boolean;
}

export interface DiscoveryOptions {
  /** rows sampled per table (default 1000) */
  sample?: number;
  /** hit rate from which a column is reported sensitive (default 0.8) */
  threshold?: number;
  detectors: readonly Detector[];
  /** schemas to scan (PG default: all non-system; MySQL default: the URL's database) */
  schemas?: string[];
  onProgress?: (done: number, total: number, table: string) => void;
}

export interface DiscoveryReport {
  dialect: DbInspector["dialect"];
  database: string;
  sample: number;
  threshold: number;
  tablesScanned: number;
  columnsScanned: number;
  /** best detector per column with at least one hit, sorted by table, column */
  findings: ColumnFinding[];
}

export const DISCOVERY_DEFAULTS = { sample: 1000, threshold: 0.8 } as const;

const CANDIDATE_KINDS = new Set<ColumnInfo["kind"]>(["text", "integer", "numeric"]);

export function bestDetector(
  values: (string | null)[],
  detectors: readonly Detector[],
): { detector: Detector; hits: number; sampled: number } | undefined {
  const present = values.filter((v): v is string => v !== null && v.trim() !== "").map((v) => v.trim());
  if (present.length === 0) return undefined;
  let best: { detector: Detector; hits: number; sampled: number } | undefined;
  for (const d of detectors) {
    let hits = 0;
    for (const v of present) if (d.test(v)) hits++;
    if (hits > 0 && (!best || hits > best.hits)) best = { detector: d, hits, sampled: present.length };
  }
  return best;
}

export async function discover(db: DbInspector, opts: DiscoveryOptions): Promise<DiscoveryReport> {
  const sample = opts.sample ?? DISCOVERY_DEFAULTS.sample;
  const threshold = opts.threshold ?? DISCOVERY_DEFAULTS.threshold;
  const tables = await db.tables(opts.schemas);
  const findings: ColumnFinding[] = [];
  let columnsScanned = 0;
  let done = 0;
  for (const t of tables) {
    opts.onProgress?.(done, tables.length, `${t.schema}.${t.name}`);
    const cols = t.columns.filter((c) => CANDIDATE_KINDS.has(c.kind));
    if (cols.length > 0) {
      columnsScanned += cols.length;
      const rows = await db.sample(
        t,
        cols.map((c) => c.name),
        sample,
      );
      cols.forEach((c, i) => {
        const f = scanColumn(
          t,
          c,
          rows.map((r) => r[i]),
          opts.detectors,
          threshold,
        );
        if (f) findings.push(f);
      });
    }
    done++;
    opts.onProgress?.(done, tables.length, `${t.schema}.${t.name}`);
  }
  findings.sort((a, b) => a.table.localeCompare(b.table) || a.column.localeCompare(b.column));
  return {
    dialect: db.dialect,
    database: db.database,
    sample,
    threshold,
    tablesScanned: tables.length,
    columnsScanned,
    findings,
  };
}

function scanColumn(
  t: TableInfo,
  c: ColumnInfo,
  values: (string | null)[],
  detectors: readonly Detector[],
  threshold: number,
): ColumnFinding | undefined {
  const best = bestDetector(values, detectors);
  if (!best) return undefined;
  const hitRate = best.hits / best.sampled;
  return {
    table: `${t.schema}.${t.name}`,
    column: c.name,
    typeText: c.typeText,
    kind: c.kind,
    detector: best.detector.name,
    hits: best.hits,
    sampled: best.sampled,
    hitRate,
    suggest: best.detector.suggest,
    aboveThreshold: hitRate >= threshold,
  };
}

/** Plain-text report: one line per finding at or above `minRate`. */
export function formatFindings(report: DiscoveryReport, minRate = Math.min(0.2, report.threshold)): string {
  const rows = report.findings.filter((f) => f.hitRate >= minRate);
  const head = ["table.column", "detector", "hit rate", "samples", "suggested", "note"];
  const body = rows.map((f) => [
    `${f.table}.${f.column}`,
    f.detector,
    `${(f.hitRate * 100).toFixed(1)}%`,
    String(f.sampled),
    suggestionText(f.suggest),
    f.aboveThreshold ? "" : "(below threshold)",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const out = [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)];
  if (body.length === 0) out.push("(no sensitive columns found)");
  return `${out.join("\n")}\n`;
}

export function suggestionText(s: Suggestion): string {
  return s.protect === "fpe" ? `fpe ${s.format}` : `encrypt ${s.mode}${s.blind_index ? " +blind_index" : ""}`;
}
