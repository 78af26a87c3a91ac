// Child processes of a benchmark run: every process the harness starts (targets, pgbench, psql) is tracked here
// so that an error, SIGINT or SIGTERM stops all of them. Also a promise-based "run to completion" helper.
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";

const live = new Set<ChildProcess>();

export interface TrackedChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or null when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Last ~64 KiB of stderr (for error messages). */
  stderrTail(): string;
  /** undefined while running; otherwise "<what> exited with code N: <last stderr lines>". */
  exitReport(what: string): string | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const TAIL_BYTES = 64 * 1024;

/** Starts a long-running process (a target). stdout is discarded unless `onStdout` is given. */
export function spawnTracked(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { onStdout?: (chunk: Buffer) => void } = {},
): TrackedChild {
  const { onStdout, ...spawnOptions } = options;
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...spawnOptions });
  let tail = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-TAIL_BYTES);
  });
  child.stdout?.on("data", (chunk: Buffer) => onStdout?.(chunk));
  const spawnError = new Promise<never>((_, reject) => child.once("error", reject));
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      live.delete(child);
      resolve(code);
    });
    child.once("error", (err) => {
      live.delete(child);
      tail += `\n${err.message}`;
      resolve(null);
    });
  });
  spawnError.catch(() => undefined);
  live.add(child);
  return {
    child,
    pid: child.pid ?? -1,
    exited,
    stderrTail: () => tail,
    exitReport(what: string) {
      if (child.exitCode === null && child.signalCode === null) return undefined;
      const last = tail.trim().split("\n").slice(-5).join(" | ");
      return `${what} exited with ${child.exitCode ?? child.signalCode}${last ? `: ${last}` : ""}`;
    },
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null || !live.has(child)) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion, collecting stdout/stderr; tracked so SIGINT stops it. With `timeoutMs` the
 * command is killed (SIGTERM, then SIGKILL) when it runs longer, and the promise rejects saying so.
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<CommandResult> {
  const { timeoutMs, ...spawnOptions } = options;
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...spawnOptions });
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          child.kill("SIGTERM");
          setTimeout(() => child.kill("SIGKILL"), 3000).unref();
        }, timeoutMs);
  live.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString("utf8");
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString("utf8")).slice(-TAIL_BYTES);
  });
  return await new Promise<CommandResult>((resolve, reject) => {
    child.once("error", (err) => {
      live.delete(child);
      if (timer) clearTimeout(timer);
      reject(new Error(`bench: cannot run ${command}: ${err.message}`));
    });
    child.once("close", (code) => {
      live.delete(child);
      if (timer) clearTimeout(timer);
      if (timedOut) reject(new Error(`bench: ${command} did not finish within ${timeoutMs} ms and was killed`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** Kills every process this harness started (SIGTERM, then SIGKILL for survivors after `graceMs`). */
export async function killAllChildren(graceMs = 3000): Promise<void> {
  const pending = [...live].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  );
  await Promise.all(pending);
  live.clear();
}

export function liveChildCount(): number {
  return live.size;
}
