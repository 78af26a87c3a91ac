// The harness end to end on a tiny run (not timed): pgbench through direct and a harness-started pgbouncer,
// a streaming scenario with RSS sampled from the pgbouncer process, a target that fails to start reported as
// an error without stopping the others, and every child process and temp folder gone afterwards.
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { liveChildCount } from "../../bench/children.js";
import { pgQuery } from "../../bench/net.js";
import type { RunOptions } from "../../bench/registry.js";
import { registerTarget } from "../../bench/registry.js";
import { readVmRssKiB } from "../../bench/rss.js";
import { runBenchmark } from "../../bench/runner.js";
import { registerBuiltins } from "../../bench/scenarios/index.js";
import { pgbenchScenario } from "../../bench/scenarios/pgbench.js";
import { GENERATED_ROWS_QUERY, streamScenario } from "../../bench/scenarios/stream.js";
import { dropDb, PG, uniqueDbName } from "./helpers.js";

registerBuiltins();
registerTarget({
  name: "test-broken",
  description: "a target whose start fails",
  start: async () => {
    throw new Error("broken on purpose");
  },
});

const database = uniqueDbName("e2e");
const options: RunOptions = {
  durationSec: 1,
  warmupSec: 1,
  clients: 2,
  threads: 1,
  scale: 1,
  streamRows: 100_000,
  database,
  pg: PG,
  smgateArgs: [],
};

afterAll(async () => {
  await dropDb(database);
});

describe("runBenchmark", () => {
  it("measures direct and pgbouncer, reports the broken target, and cleans up", async () => {
    const select = pgbenchScenario({
      name: "test-e2e-select",
      description: "pgbench -S -M prepared",
      script: { builtin: "select-only" },
      mode: "prepared",
      targets: ["direct", "pgbouncer", "test-broken"],
      ratios: [{ numerator: "pgbouncer", denominator: "direct" }],
    });
    const stream = streamScenario({
      name: "test-e2e-stream",
      description: "stream 100k rows",
      client: "select",
      query: GENERATED_ROWS_QUERY,
      targets: ["direct", "pgbouncer"],
      ratios: [{ numerator: "pgbouncer", denominator: "direct" }],
    });
    const logs: string[] = [];
    let tmp = "";
    const result = await runBenchmark(options, [select, stream], {
      repoRoot: process.cwd(),
      log: (m) => logs.push(m),
      onTmpDir: (d) => (tmp = d),
    });

    const [s1, s2] = result.scenarios;
    expect(s1.order).toEqual(["direct", "pgbouncer", "test-broken"]);
    expect(s2.order).toEqual(["pgbouncer", "direct"]); // rotated by one for the second scenario
    for (const target of ["direct", "pgbouncer"]) {
      const m = s1.measurements.find((x) => x.target === target);
      expect(m?.error).toBeUndefined();
      expect(m?.throughput.unit).toBe("tps");
      expect(m?.throughput.value).toBeGreaterThan(0);
      expect(m?.failed).toBe(0);
      expect(m?.latencyP99Ms).toBeGreaterThan(0);
    }
    expect(s1.measurements.find((x) => x.target === "test-broken")?.error).toMatch(
      /target did not start: broken on purpose/,
    );
    expect(s1.ratios[0].value).toBeGreaterThan(0);

    const viaBouncer = s2.measurements.find((x) => x.target === "pgbouncer");
    expect(viaBouncer?.completed).toBe(100_000);
    expect(viaBouncer?.throughput.unit).toBe("rows/s");
    expect(viaBouncer?.rss?.samples).toBeGreaterThan(0);
    expect(viaBouncer?.rss?.startMiB).toBeGreaterThan(0);
    expect(s2.measurements.find((x) => x.target === "direct")?.rss).toBeUndefined();

    expect(result.targets.pgbouncer.version).toMatch(/PgBouncer/);
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.machine.pgbench).toMatch(/pgbench/);
    expect(logs.some((l) => l.includes("pgbouncer listening on"))).toBe(true);

    // Everything stopped and removed.
    const pid = Number(/pid (\d+)/.exec(logs.find((l) => l.includes("pgbouncer listening")) ?? "")?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(readVmRssKiB(pid)).toBeUndefined();
    expect(liveChildCount()).toBe(0);
    expect(tmp).not.toBe("");
    expect(existsSync(tmp)).toBe(false);
    const dbs = await pgQuery(
      { ...PG, database: "postgres" },
      `select 1 from pg_database where datname = '${database}'`,
    );
    expect(dbs).toEqual([]); // the benchmark database is dropped at the end
  });
});
