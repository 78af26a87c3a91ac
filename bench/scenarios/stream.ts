// Streaming scenarios: a large result (default 10 million rows) read through each target by a client that
// discards rows as they arrive, measuring rows/s and — for targets the harness started — the RSS of the
// target's process tree sampled every 100 ms. `streamScenario` builds one from data (query, client, targets).

import { streamQuery } from "../drivers/pg-stream.js";
import { psqlCopyOut } from "../drivers/psql-copy.js";
import type { BenchContext, Measurement, RatioSpec, RssSummary, RunningTarget, Scenario } from "../registry.js";
import { startRssSampler } from "../rss.js";

export interface StreamScenarioSpec {
  name: string;
  description: string;
  /** "select": plain SELECT over the simple query protocol, rows discarded by a raw protocol reader;
   *  "copy": psql \copy (COPY ... TO STDOUT) into /dev/null. */
  client: "select" | "copy";
  /** The query; gets the run's row count. */
  query: (rows: number) => string;
  /** Rows expected (default: --rows). */
  rows?: (ctx: BenchContext) => number;
  targets: readonly string[];
  ratios?: readonly RatioSpec[];
  setup?: (ctx: BenchContext) => Promise<void>;
  database?: (ctx: BenchContext) => string;
}

/** 10M rows of (bigint, short text, numeric): about 40 bytes of DataRow per row. */
export const GENERATED_ROWS_QUERY = (rows: number) =>
  `select g as id, 'row ' || g as label, g * 0.25 as amount from generate_series(1, ${rows}) as g`;

export function streamScenario(spec: StreamScenarioSpec): Scenario {
  return {
    name: spec.name,
    description: spec.description,
    targets: spec.targets,
    ratios: spec.ratios,
    setup: spec.setup,
    async run(ctx: BenchContext, target: RunningTarget): Promise<Measurement> {
      const rows = spec.rows?.(ctx) ?? ctx.options.streamRows;
      const database = spec.database?.(ctx) ?? "postgres";
      const ep = { host: target.host, port: target.port, user: ctx.options.pg.user, database };
      const sampler = target.pid !== undefined ? startRssSampler(target.pid) : undefined;
      let got: { rows: number; elapsedMs: number; bytes?: number };
      let rss: RssSummary | undefined;
      try {
        got =
          spec.client === "select"
            ? await streamQuery({ ...ep, sql: spec.query(rows), timeoutMs: 30 * 60_000 })
            : await psqlCopyOut({ ...ep, query: spec.query(rows) });
      } finally {
        rss = sampler?.stop();
      }
      if (got.rows !== rows)
        throw new Error(`bench: ${spec.name} on ${target.name} returned ${got.rows} rows, expected ${rows}`);
      const seconds = got.elapsedMs / 1000;
      return {
        target: target.name,
        throughput: { value: rows / seconds, unit: "rows/s" },
        completed: got.rows,
        failed: 0,
        elapsedSec: seconds,
        rss,
        details: {
          client: spec.client === "select" ? "raw protocol reader (simple query)" : "psql \\copy to /dev/null",
          bytes: got.bytes,
        },
      };
    },
  };
}

export const builtinStreamScenarios: Scenario[] = [
  streamScenario({
    name: "rss-10m",
    description: "SELECT streaming --rows rows (default 10M), rows discarded by the client; RSS of smgate",
    client: "select",
    query: GENERATED_ROWS_QUERY,
    targets: ["direct", "smgate"],
    ratios: [{ numerator: "smgate", denominator: "direct" }],
  }),
  streamScenario({
    name: "rss-10m-copy",
    description: "COPY (SELECT ...) TO STDOUT of --rows rows via psql into /dev/null; RSS of smgate",
    client: "copy",
    query: GENERATED_ROWS_QUERY,
    targets: ["direct", "smgate"],
    ratios: [{ numerator: "smgate", denominator: "direct" }],
  }),
];
