// Facts about the machine and software a benchmark ran on, recorded in every result file.
import { cpus, freemem, loadavg, release, totalmem } from "node:os";
import { runCommand } from "./children.js";
import { pgQuery } from "./net.js";
import type { RunOptions } from "./registry.js";
import { toolVersion } from "./tools.js";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  freeMemoryGiB: number;
  kernel: string;
  node: string;
  postgres: string;
  pgbench: string;
  pgbouncer: string;
  psql: string;
  gitCommit: string;
  /** 1/5/15-minute load averages when the run started (other users share this machine). */
  loadAtStart: number[];
  loadAtEnd?: number[];
}

async function safe(fn: () => Promise<string>): Promise<string> {
  try {
    return await fn();
  } catch (err) {
    return `unavailable (${err instanceof Error ? err.message : String(err)})`;
  }
}

export async function collectMachineInfo(options: RunOptions, repoRoot: string): Promise<MachineInfo> {
  const cpuList = cpus();
  const round1 = (n: number) => Math.round(n * 10) / 10;
  return {
    cpuModel: cpuList[0]?.model.trim() ?? "unknown",
    cores: cpuList.length,
    memoryGiB: round1(totalmem() / 2 ** 30),
    freeMemoryGiB: round1(freemem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    postgres: await safe(async () => {
      const [row] = await pgQuery<{ version: string }>({ ...options.pg, database: "postgres" }, "select version()");
      return row?.version ?? "unknown";
    }),
    pgbench: await safe(() => toolVersion("pgbench")),
    pgbouncer: await safe(() => toolVersion("pgbouncer")),
    psql: await safe(() => toolVersion("psql")),
    gitCommit: await safe(async () => {
      const head = await runCommand("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot });
      const dirty = await runCommand("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: repoRoot });
      return head.stdout.trim() + (dirty.stdout.trim() ? " (work tree has uncommitted changes)" : "");
    }),
    loadAtStart: loadavg().map(round1),
  };
}
