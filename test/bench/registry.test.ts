// Scenario/target registry: names are validated, duplicates refused, --only selects in registry order and
// names the known scenarios when given an unknown one; the built-ins are all registered.
import { describe, expect, it } from "vitest";
import { getTarget, listScenarios, registerScenario, selectScenarios } from "../../bench/registry.js";
import { registerBuiltins } from "../../bench/scenarios/index.js";

registerBuiltins();

describe("registry", () => {
  it("registers the built-in scenarios and targets", () => {
    const names = listScenarios().map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "pgbench-select-simple",
        "pgbench-select-prepared",
        "pgbench-update-simple",
        "pgbench-update-prepared",
        "rss-10m",
        "rss-10m-copy",
      ]),
    );
    for (const t of ["direct", "pgbouncer", "smgate"]) expect(getTarget(t)?.name).toBe(t);
    const sp = listScenarios().find((s) => s.name === "pgbench-select-prepared");
    expect(sp?.ratios).toContainEqual({ numerator: "smgate", denominator: "pgbouncer", atLeast: 0.9 });
  });

  it("selects by --only in registry order and rejects unknown names", () => {
    expect(selectScenarios(["rss-10m", "pgbench-select-prepared"]).map((s) => s.name)).toEqual([
      "pgbench-select-prepared",
      "rss-10m",
    ]);
    expect(() => selectScenarios(["nope"])).toThrow(/unknown scenario\(s\) nope; known: pgbench-select-simple/);
  });

  it("refuses duplicate and malformed names; opt-in scenarios are not in the default set", async () => {
    const base = {
      description: "d",
      targets: ["direct"],
      run: async () => ({ target: "direct", throughput: { value: 1, unit: "tps" as const } }),
    };
    expect(() => registerScenario({ ...base, name: "rss-10m" })).toThrow(/registered twice/);
    expect(() => registerScenario({ ...base, name: "Bad Name" })).toThrow(/lowercase/);
    registerScenario({ ...base, name: "test-opt-in", defaultOn: false });
    expect(selectScenarios([]).map((s) => s.name)).not.toContain("test-opt-in");
    expect(selectScenarios(["test-opt-in"]).map((s) => s.name)).toEqual(["test-opt-in"]);
  });
});
