// Locating external programs: found on PATH or in the extra folders, and a missing one is an error naming
// the program and how to install it.
import { describe, expect, it } from "vitest";
import { findTool, requireTool, TOOLS, toolVersion } from "../../bench/tools.js";

describe("tools", () => {
  it("finds pgbench, psql and pgbouncer on this machine and reads their versions", async () => {
    for (const t of ["pgbench", "psql", "pgbouncer"] as const) expect(requireTool(t)).toMatch(new RegExp(`/${t}$`));
    expect(await toolVersion("pgbench")).toMatch(/^pgbench \(PostgreSQL\) \d+/);
    expect(await toolVersion("pgbouncer")).toMatch(/^PgBouncer \d+\.\d+/);
  });

  it("finds pgbouncer in /usr/sbin even when PATH lacks it", () => {
    expect(findTool(TOOLS.pgbouncer, "/nonexistent")).toBe("/usr/sbin/pgbouncer");
  });

  it("fails with the program's name and the install hint when it is missing", () => {
    const spec = {
      name: "smg-no-such-tool",
      extraDirs: () => ["/nonexistent/bin"],
      install: "install it with `apt-get install smg-x`",
    };
    expect(() => findTool(spec, "/usr/bin:/bin")).toThrow(
      "bench: smg-no-such-tool was not found on PATH or in /nonexistent/bin; install it with `apt-get install smg-x`",
    );
  });
});
