// Builds the native relay addon (native/, node-gyp) during `npm install` / `npm ci` (the "prepare" script).
// The gateway works without it (every session then uses the JavaScript relay), so a machine without a C
// toolchain still installs; set SMGATE_REQUIRE_NATIVE=1 (CI does) to make a failed build fail the install.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

if (process.platform !== "linux") {
  console.warn("smgate: the native relay is built on Linux only; using the JavaScript relay");
  process.exit(0);
}
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp && existsSync(gyp) ? [process.execPath, [gyp]] : ["node-gyp", []];
const r = spawnSync(cmd, [...args, "rebuild", "--directory", "native"], { stdio: "inherit" });
if (r.status !== 0) {
  const why = r.error ? r.error.message : `exit ${r.status}`;
  if (process.env.SMGATE_REQUIRE_NATIVE === "1") {
    console.error(`smgate: building the native relay failed (${why})`);
    process.exit(1);
  }
  console.warn(`smgate: building the native relay failed (${why}); sessions will use the JavaScript relay`);
}
