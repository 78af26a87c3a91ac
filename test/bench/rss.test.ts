// RSS sampling from /proc: the sampler sees a child process tree grow (including a grandchild), and the
// summary's start/peak/growth/flat fields follow from the samples.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { processTree, readVmRssKiB, startRssSampler, summariseRss, thin, treeRssKiB } from "../../bench/rss.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("rss", () => {
  it("reads this process's VmRSS and nothing for a missing pid", () => {
    expect(readVmRssKiB(process.pid)).toBeGreaterThan(10_000);
    expect(readVmRssKiB(2 ** 30)).toBeUndefined();
  });

  it("samples a process tree that grows by ~100 MiB in a grandchild", async () => {
    // parent node → grandchild node that allocates and touches 100 MiB when it gets SIGUSR2; it prints
    // "ready" (through the parent's inherited stdout) once its handler is installed.
    const grandchild =
      "process.on('SIGUSR2',()=>{globalThis.b=Buffer.alloc(100*1024*1024,1)});console.log('ready');setTimeout(()=>{},60000)";
    const parent = spawn(process.execPath, [
      "-e",
      `const c=require('child_process').spawn(process.execPath,['-e',${JSON.stringify(grandchild)}],{stdio:'inherit'});process.on('SIGTERM',()=>{c.kill();process.exit(0)});setTimeout(()=>{},60000)`,
    ]);
    const pid = parent.pid as number;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("grandchild never became ready")), 30_000);
        parent.stdout.on("data", (d: Buffer) => {
          if (d.toString().includes("ready")) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const tree = processTree(pid);
      expect(tree.length).toBe(2);
      await sleep(300); // let the grandchild settle after start-up
      const before = treeRssKiB(pid) as number;
      expect(before).toBeGreaterThan(readVmRssKiB(pid) as number);
      const sampler = startRssSampler(pid, 50, 64);
      process.kill(tree.find((p) => p !== pid) as number, "SIGUSR2");
      // Page faults can be slow on a loaded machine: wait until the tree has grown (or give up after 15 s).
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && (treeRssKiB(pid) as number) - before < 95 * 1024) await sleep(100);
      const s = sampler.stop();
      expect(s.samples).toBeGreaterThan(2);
      expect(s.growthMiB).toBeGreaterThan(90);
      expect(s.growthMiB).toBeLessThan(130);
      expect(s.flat).toBe(false);
      expect(s.peakMiB).toBeCloseTo(s.startMiB + s.growthMiB, 0);
    } finally {
      parent.kill("SIGTERM");
      await new Promise((r) => parent.once("exit", r));
    }
  });

  it("summariseRss reports start, peak, end and growth in MiB", () => {
    const s = summariseRss([102_400, 153_600, 112_640], 100, 64);
    expect(s).toEqual({
      startMiB: 100,
      peakMiB: 150,
      endMiB: 110,
      growthMiB: 50,
      samples: 3,
      intervalMs: 100,
      flat: true,
      flatThresholdMiB: 64,
      seriesMiB: [100, 150, 110],
    });
    expect(() => summariseRss([], 100, 64)).toThrow(/no RSS samples/);
  });

  it("thin keeps at most max points and never loses the peak", () => {
    const samples = Array.from({ length: 1000 }, (_, i) => (i === 537 ? 999 : i % 7));
    const t = thin(samples, 300);
    expect(t).toHaveLength(300);
    expect(Math.max(...t)).toBe(999);
    expect(thin([1, 2, 3], 300)).toEqual([1, 2, 3]);
  });
});
