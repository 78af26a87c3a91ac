// Builds dist/ once before the suites that run the `smgate` CLI as a subprocess (node dist/cli/main.js), so
// no test file pays for (or races on) its own tsc run.
import { spawnSync } from "node:child_process";

export default function setup(): void {
  const r = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`build for the CLI tests failed:\n${r.stdout}${r.stderr}`);
}
