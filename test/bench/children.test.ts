// Child-process handling: commands are killed at their timeout, exits are reported with the last stderr,
// and killAllChildren stops every tracked process.
import { describe, expect, it } from "vitest";
import { killAllChildren, liveChildCount, runCommand, spawnTracked } from "../../bench/children.js";
import { readVmRssKiB } from "../../bench/rss.js";

describe("children", () => {
  it("runCommand collects output and exit code", async () => {
    const r = await runCommand(process.execPath, ["-e", "console.log('out'); console.error('err'); process.exit(3)"]);
    expect(r).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
  });

  it("runCommand kills a command that outlives its timeout", async () => {
    const started = Date.now();
    await expect(runCommand(process.execPath, ["-e", "setTimeout(()=>{}, 60000)"], { timeoutMs: 300 })).rejects.toThrow(
      /did not finish within 300 ms/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(liveChildCount()).toBe(0);
  });

  it("runCommand rejects clearly when the program does not exist", async () => {
    await expect(runCommand("/nonexistent/smg-tool", [])).rejects.toThrow(/cannot run \/nonexistent\/smg-tool/);
  });

  it("spawnTracked reports an exit with the last stderr line, and killAllChildren stops survivors", async () => {
    const quitter = spawnTracked(process.execPath, ["-e", "console.error('boom: bad config'); process.exit(2)"]);
    await quitter.exited;
    expect(quitter.exitReport("svc")).toBe("svc exited with 2: boom: bad config");
    const sleeper = spawnTracked(process.execPath, ["-e", "setTimeout(()=>{}, 60000)"]);
    expect(sleeper.exitReport("svc")).toBeUndefined();
    expect(liveChildCount()).toBe(1);
    await killAllChildren();
    expect(liveChildCount()).toBe(0);
    await sleeper.exited;
    expect(readVmRssKiB(sleeper.pid)).toBeUndefined();
  });
});
