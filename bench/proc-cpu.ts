// CPU time of a process tree from /proc/<pid>/stat (utime + stime of each live process), to report how many
// cores a harness-started target used while a scenario ran.
import { readFileSync } from "node:fs";
import { processTree } from "./rss.js";

/** Linux USER_HZ: /proc times are in these ticks (100 on every mainstream kernel configuration). */
const TICKS_PER_SECOND = 100;

/** utime + stime of one process in seconds, or undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: split after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export function treeCpuSeconds(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) total += processCpuSeconds(p) ?? 0;
  return total;
}

export interface CpuMeter {
  /** CPU seconds used by the tree since start, the wall seconds, and their ratio (cores busy on average). */
  stop(): { cpuSec: number; wallSec: number; cores: number };
}

export function startCpuMeter(pid: number): CpuMeter {
  const cpu0 = treeCpuSeconds(pid);
  const t0 = performance.now();
  return {
    stop() {
      const cpuSec = Math.max(0, treeCpuSeconds(pid) - cpu0);
      const wallSec = (performance.now() - t0) / 1000;
      const round = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d;
      return {
        cpuSec: round(cpuSec, 2),
        wallSec: round(wallSec, 2),
        cores: round(wallSec > 0 ? cpuSec / wallSec : 0, 2),
      };
    },
  };
}
