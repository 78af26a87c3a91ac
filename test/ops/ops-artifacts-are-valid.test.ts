// Operations artifacts stay true to the code: the Dockerfile lints clean (dockerfile-utils; no Docker engine
// here to build it), and every metric the Grafana dashboard and the Prometheus alert rules use exists in the
// gateway's registry.
import { readFileSync } from "node:fs";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { GatewayMetrics } from "../../proxy/metrics.js";

function metricNamesIn(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/\bsmgate_[a-z_]+\b/g)) names.add(m[0].replace(/_(bucket|sum|count)$/, ""));
  return names;
}

describe("ops artifacts", () => {
  it("the Dockerfile has no lint problems and runs as a non-root user with a healthcheck", () => {
    const text = readFileSync("Dockerfile", "utf8");
    const problems = validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
    expect(text).toMatch(/^USER smgate$/m);
    expect(text).toMatch(/^HEALTHCHECK /m);
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
  });

  it("dashboard and alert rules reference only metrics the gateway exports", async () => {
    const registry = new GatewayMetrics({ defaultMetrics: false }).registry;
    const known = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const dashboard = readFileSync("docs/monitoring/grafana-dashboard.json", "utf8");
    JSON.parse(dashboard);
    const alerts = readFileSync("docs/monitoring/prometheus-alerts.yml", "utf8");
    expect(parse(alerts).groups[0].rules.length).toBeGreaterThanOrEqual(4);
    const used = new Set([...metricNamesIn(dashboard), ...metricNamesIn(alerts)]);
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(known, `${name} is not exported`).toContain(name);
  });
});
