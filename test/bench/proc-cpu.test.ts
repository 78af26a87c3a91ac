// CPU metering from /proc: what it reads for a child that burned CPU matches the child's own
// process.cpuUsage() (an independent account), whatever the machine's load; an idle child shows ~0.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { processCpuSeconds, startCpuMeter } from "../../bench/proc-cpu.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("proc-cpu", () => {
  it("reads this process's CPU seconds and nothing for a missing pid", () => {
    expect(processCpuSeconds(process.pid)).toBeGreaterThan(0);
    expect(processCpuSeconds(2 ** 30)).toBeUndefined();
  });

  it("agrees with the child's own cpuUsage after it burned ~0.4 s of CPU", async () => {
    const code =
      "while(process.cpuUsage().user<400000){}const u=process.cpuUsage();console.log(String((u.user+u.system)/1e6));setTimeout(()=>{},60000)";
    const child = spawn(process.execPath, ["-e", code]);
    try {
      const reported = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("child never reported")), 45_000);
        child.stdout.on("data", (d: Buffer) => {
          clearTimeout(timer);
          resolve(Number(d.toString().trim()));
        });
      });
      await sleep(200); // idle now: its /proc times stop moving (up to a few ticks of background threads)
      const seen = processCpuSeconds(child.pid as number) as number;
      expect(reported).toBeGreaterThan(0.4);
      expect(Math.abs(seen - reported)).toBeLessThan(0.1);
      const meter = startCpuMeter(child.pid as number);
      await sleep(500);
      const idle = meter.stop();
      expect(idle.cpuSec).toBeLessThan(0.05);
      expect(idle.wallSec).toBeGreaterThan(0.45);
      expect(idle.cores).toBeCloseTo(idle.cpuSec / idle.wallSec, 1);
    } finally {
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
    }
  });
});
