// Builds the native relay addon (native/, node-gyp) during `npm install` / `npm ci` (the "prepare" script).
// The gateway works without it (every session then uses the JavaScript relay), so a machine without a C
// toolchain still installs; set SMGATE_REQUIRE_NATIVE=1 (CI does) to make a failed build fail the install.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

if (process.platform !== "linux") {
  console.warn("smgate: the native relay is built on Linux only; using the JavaScript relay");
  process.exit(0);
}
// npm tells its scripts where its own node-gyp is; run directly, look where npm installs it beside node
const bundled = join(
  dirname(process.execPath),
  "..",
  "lib",
  "node_modules",
  "npm",
  "node_modules",
  "node-gyp",
  "bin",
  "node-gyp.js",
);
const gyp = [process.env.npm_config_node_gyp, bundled].find((p) => p && existsSync(p));
const [cmd, args] = gyp ? [process.execPath, [gyp]] : ["node-gyp", []];
// headers: npm passes its nodedir setting to scripts; otherwise use the ones installed with node, if any
// (so a machine without network builds too)
const prefix = join(dirname(process.execPath), "..");
const nodedir =
  process.env.npm_config_nodedir ?? (existsSync(join(prefix, "include", "node", "node_api.h")) ? prefix : undefined);
const extra = nodedir ? [`--nodedir=${nodedir}`] : [];
const r = spawnSync(cmd, [...args, "rebuild", "--directory", "native", ...extra], { stdio: "inherit" });
if (r.status !== 0) {
  const why = r.error ? r.error.message : `exit ${r.status}`;
  if (process.env.SMGATE_REQUIRE_NATIVE === "1") {
    console.error(`smgate: building the native relay failed (${why})`);
    process.exit(1);
  }
  console.warn(`smgate: building the native relay failed (${why}); sessions will use the JavaScript relay`);
}
