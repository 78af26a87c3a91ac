// Reports: the markdown table (one row per scenario × target, ratios with bars, failures, escaping), the SVG
// chart (well-formed XML per an independent parser, one bar per successful measurement, one panel per unit)
// and the helpers behind them.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatCompact, formatRatio } from "../../bench/report/format.js";
import { renderMarkdown } from "../../bench/report/markdown.js";
import { escapeXml, niceScale, renderSvg } from "../../bench/report/svg.js";
import { rerenderResultFiles, resultStamp, writeResultFiles } from "../../bench/report/write.js";
import { computeRatios, rotate } from "../../bench/result.js";
import { fixtureResult } from "./fixture-result.js";
import { xmlProblem } from "./helpers.js";

describe("markdown report", () => {
  const md = renderMarkdown(fixtureResult());
  const tableRows = md.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| Scenario"));

  it("has one table row per measurement and one per ratio", () => {
    // 8 measurements + 4 ratios
    expect(tableRows).toHaveLength(12);
    expect(md).toContain("| pgbench-select-prepared | smgate | 19,000 tps | 2.50 | 0.42 | 0 |  | 0.75 |");
    expect(md).toContain("| pgbench-select-prepared | direct | 40,000 tps | 1.10 | 0.20 | 0 |  |  |");
    expect(md).toContain("| rss-10m | smgate | 600,000 rows/s |  |  | 0 | 60 → 75.5 (+15.5, flat) |  |");
  });

  it("shows ratios with their bars, met or not", () => {
    expect(md).toContain("| pgbench-select-prepared | smgate/pgbouncer | 0.95× | ≥ 0.90× met |");
    expect(md).toContain("| pgbench-select-prepared | smgate/direct | 0.48× |  |");
    expect(md).toContain("smgate/pgbouncer | n/a | ≥ 0.90× NOT met |");
  });

  it("escapes pipes in cells so the table keeps its columns", () => {
    for (const line of tableRows) {
      const cells = line.replace(/\\\|/g, "").split("|").length - 2;
      expect([4, 8]).toContain(cells);
    }
    expect(md).toContain("pgbench-a\\|b<c>");
  });

  it("lists failures and states machine, load and run parameters", () => {
    expect(md).toMatch(/## Failures\n\n- pgbench-a\|b<c> on smgate: target did not start/);
    expect(md).toContain("2 cores");
    expect(md).toContain("at start 1.5 / 1.2 / 0.9, at end 2 / 1.5 / 1");
    expect(md).toContain("8 clients, 2 threads, 20 s per measurement");
  });
});

describe("SVG chart", () => {
  const svg = renderSvg(fixtureResult());

  it("is well-formed XML (checked by Python's minidom)", () => {
    expect(xmlProblem(svg)).toBeUndefined();
  });

  it("the XML check itself rejects broken markup", () => {
    expect(xmlProblem("<svg><text>a & b</text></svg>")).toBeDefined();
  });

  it("draws one panel per scenario with its unit, and one bar per successful measurement", () => {
    const bars = svg.match(/<rect x="[\d.]+" y="[\d.]+" width="40"/g) ?? [];
    expect(bars).toHaveLength(7); // 8 measurements, one failed
    expect(svg.match(/<g class="panel"/g)).toHaveLength(3);
    expect(svg).toContain('data-scenario="pgbench-select-prepared" data-unit="tps"');
    expect(svg).toContain('data-scenario="rss-10m" data-unit="rows/s"');
    expect(svg).toContain("smgate/pgbouncer 0.95× (bar ≥ 0.9×)");
    expect(svg).toContain(">failed<");
    expect(svg).toContain("smgate RSS 60 → 75.5 MiB (flat)");
  });

  it("bar heights are proportional to throughput within a panel", () => {
    const first = svg.slice(svg.indexOf('<g class="panel"'), svg.indexOf('</g>\n<g class="panel"'));
    const bars = [...first.matchAll(/<title>(\w+): (\d+) tps<\/title><rect [^>]*height="([\d.]+)"/g)].map((m) => ({
      value: Number(m[2]),
      h: Number(m[3]),
    }));
    expect(bars).toHaveLength(3);
    const k = bars[0].h / bars[0].value;
    for (const b of bars) expect(b.h).toBeCloseTo(b.value * k, 0);
  });
});

describe("report helpers", () => {
  it("niceScale picks 1/2/2.5/5 steps covering the maximum", () => {
    expect(niceScale(41_000)).toEqual({ max: 50_000, step: 10_000 });
    expect(niceScale(900_000)).toEqual({ max: 1_000_000, step: 200_000 });
    expect(niceScale(12)).toEqual({ max: 12.5, step: 2.5 });
    expect(niceScale(0)).toEqual({ max: 1, step: 0.2 });
  });

  it("escapes XML specials, formats numbers and ratios", () => {
    expect(escapeXml(`<a & "b" 'c'>`)).toBe("&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;");
    expect(formatCompact(41_234)).toBe("41.2k");
    expect(formatCompact(1_520_000)).toBe("1.52M");
    expect(formatCompact(20_000)).toBe("20k");
    expect(formatRatio(0.9312)).toBe("0.93×");
    expect(formatRatio(null)).toBe("n/a");
  });

  it("computeRatios divides throughputs, skips failed targets and checks bars", () => {
    const r = computeRatios(
      [
        { numerator: "smgate", denominator: "pgbouncer", atLeast: 0.9 },
        { numerator: "smgate", denominator: "direct" },
      ],
      [
        { target: "direct", throughput: { value: 400, unit: "tps" } },
        { target: "pgbouncer", throughput: { value: 200, unit: "tps" }, error: "x" },
        { target: "smgate", throughput: { value: 100, unit: "tps" } },
      ],
    );
    expect(r).toEqual([
      { numerator: "smgate", denominator: "pgbouncer", atLeast: 0.9, value: null, pass: false },
      { numerator: "smgate", denominator: "direct", value: 0.25 },
    ]);
  });

  it("rotate shifts the target order per scenario", () => {
    expect(rotate(["a", "b", "c"], 0)).toEqual(["a", "b", "c"]);
    expect(rotate(["a", "b", "c"], 1)).toEqual(["b", "c", "a"]);
    expect(rotate(["a", "b", "c"], 5)).toEqual(["c", "a", "b"]);
  });

  it("writes json, md and svg named by the run's start time", async () => {
    const dir = await mkdtemp(join(tmpdir(), "smg-bench-out-"));
    try {
      const files = await writeResultFiles(fixtureResult(), dir);
      expect(resultStamp("2026-11-23T17:35:02.123Z")).toBe("2026-11-23T17-35-02Z");
      expect(files.json).toBe(join(dir, "2026-11-23T17-35-02Z.json"));
      expect(JSON.parse(await readFile(files.json, "utf8")).scenarios).toHaveLength(3);
      expect(await readFile(files.markdown, "utf8")).toContain("![throughput chart](2026-11-23T17-35-02Z.svg)");
      expect(xmlProblem(await readFile(files.svg, "utf8"))).toBeUndefined();
      // Re-rendering from the JSON gives the same files.
      const md = await readFile(files.markdown, "utf8");
      const svg = await readFile(files.svg, "utf8");
      await rm(files.markdown);
      await rm(files.svg);
      await rerenderResultFiles(files.json);
      expect(await readFile(files.markdown, "utf8")).toBe(md);
      expect(await readFile(files.svg, "utf8")).toBe(svg);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
