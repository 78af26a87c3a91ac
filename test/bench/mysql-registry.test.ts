// Registration of the MySQL benchmarks: targets and scenarios are registered with the bars, and a
// placeholder target (smgate start refusing MySQL encryption) makes the encrypted scenarios report "skipped" —
// without touching any server.
import { describe, expect, it } from "vitest";
import { type BenchContext, getTarget, listScenarios, type RunningTarget } from "../../bench/registry.js";
import { registerBuiltins } from "../../bench/scenarios/index.js";
import { NEEDS_MYSQL_ENCRYPTION, SMGATE_MYSQL_ENC } from "../../bench/targets/mysql-smgate-encrypted.js";

registerBuiltins();

const byName = (name: string) => listScenarios().find((s) => s.name === name);

describe("MySQL benchmark registration", () => {
  it("registers the MySQL targets and the four default scenarios", () => {
    for (const t of ["mysql-direct", "mysql-tcp-relay", "smgate-mysql", SMGATE_MYSQL_ENC]) {
      expect(getTarget(t)?.name).toBe(t);
    }
    for (const s of [
      "sysbench-point-select",
      "sysbench-read-only",
      "mysql-encrypted-select-1m",
      "mysql-encrypted-insert-8c",
    ]) {
      expect(byName(s)?.defaultOn).not.toBe(false);
    }
    expect(byName("sysbench-point-select")?.ratios).toContainEqual({
      numerator: "smgate-mysql",
      denominator: "mysql-direct",
      atLeast: 0.5,
    });
    expect(byName("mysql-encrypted-select-1m")?.targets).toEqual(["mysql-direct", SMGATE_MYSQL_ENC]);
  });

  it("a placeholder target (start refused MySQL encryption) yields skipped measurements, not errors", async () => {
    const placeholder: RunningTarget = {
      name: SMGATE_MYSQL_ENC,
      host: "127.0.0.1",
      port: 0,
      info: { skipped: NEEDS_MYSQL_ENCRYPTION },
      async stop() {},
    };
    const ctx = {} as BenchContext; // never used on the skip path
    for (const name of ["mysql-encrypted-select-1m", "mysql-encrypted-insert-8c"]) {
      const s = byName(name);
      await s?.warmup?.(ctx, placeholder);
      const m = await s?.run(ctx, placeholder);
      expect(m?.skipped).toBe(NEEDS_MYSQL_ENCRYPTION);
      expect(m?.error).toBeUndefined();
      expect(m?.throughput.value).toBe(0);
    }
  });
});
