// Bulk loader for benchmark tables through a PostgreSQL-speaking endpoint that refuses COPY (smgate on
// protected tables): rows go in multi-row parameterised INSERTs (one prepared statement per batch size),
// several connections in parallel. Used to load encrypted tables through the gateway itself.
import pg from "pg";
import type { PgEndpoint } from "../net.js";

/** PostgreSQL's limit on bind parameters per statement. */
export const MAX_PARAMS = 65535;

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `INSERT INTO "t" ("a", "b") VALUES ($1, $2), ($3, $4), ...` for `rows` rows. */
export function multiRowInsertSql(table: string, columns: readonly string[], rows: number): string {
  if (columns.length === 0) throw new Error("bench: multi-row INSERT needs at least one column");
  if (rows < 1) throw new Error("bench: multi-row INSERT needs at least one row");
  if (rows * columns.length > MAX_PARAMS) {
    throw new Error(`bench: ${rows} rows × ${columns.length} columns exceed ${MAX_PARAMS} bind parameters`);
  }
  const tuples: string[] = new Array(rows);
  let p = 1;
  for (let r = 0; r < rows; r++) {
    const ps: string[] = new Array(columns.length);
    for (let c = 0; c < columns.length; c++) ps[c] = `$${p++}`;
    tuples[r] = `(${ps.join(", ")})`;
  }
  return `INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(", ")}) VALUES ${tuples.join(", ")}`;
}

/** Splits [0, total) into consecutive [start, end) batches of at most `size` rows. */
export function batchRanges(total: number, size: number): [number, number][] {
  if (size < 1) throw new Error("bench: batch size must be ≥ 1");
  const out: [number, number][] = [];
  for (let start = 0; start < total; start += size) out.push([start, Math.min(total, start + size)]);
  return out;
}

export interface BatchInsertSpec {
  endpoint: PgEndpoint;
  table: string;
  columns: readonly string[];
  /** Rows 0..total-1. */
  total: number;
  /** The text-format values of row `i`, one per column. */
  row: (i: number) => string[];
  /** Rows per INSERT statement (default 1,000). */
  batchRows?: number;
  /** Connections inserting in parallel (default 2). */
  connections?: number;
}

/** Inserts rows 0..total-1; returns the elapsed milliseconds. Batches are claimed in order by the connections. */
export async function batchInsert(spec: BatchInsertSpec): Promise<number> {
  const size = Math.max(1, Math.min(spec.batchRows ?? 1000, Math.floor(MAX_PARAMS / spec.columns.length)));
  const ranges = batchRanges(spec.total, size);
  const conns = Math.max(1, Math.min(spec.connections ?? 2, ranges.length));
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    const client = new pg.Client({ ...spec.endpoint, application_name: "smgate-bench-load" });
    await client.connect();
    try {
      for (;;) {
        const k = next++;
        if (k >= ranges.length) return;
        const [start, end] = ranges[k];
        const values: string[] = [];
        for (let i = start; i < end; i++) for (const v of spec.row(i)) values.push(v);
        const rows = end - start;
        await client.query({
          name: `smg_bench_load_${rows}`,
          text: multiRowInsertSql(spec.table, spec.columns, rows),
          values,
        });
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: conns }, worker));
  return performance.now() - started;
}
