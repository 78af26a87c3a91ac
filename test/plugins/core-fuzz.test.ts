// The shared C core under AddressSanitizer + UBSan: random bytes into envelope decryption, text decoding, key
// bundle parsing and every FPE format/option, plus RND round trips and the midstate HMAC-SM3 against OpenSSL's
// (plugins/common/fuzz_core.c). Memory errors
// inside a database server process would crash it, so this runs on every test run.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { pluginsDir, toolchainStatus } from "../../plugins/installer/build.js";

const run = promisify(execFile);
const tc = await toolchainStatus("mariadb");
if (!tc.ok) console.error(`\n*** PLUGIN CORE FUZZ SKIPPED: missing ${tc.missing.join(", ")} ***\n`);

describe.skipIf(!tc.ok)("C crypto core under sanitizers", () => {
  it("survives random inputs and round-trips (20,000 iterations, ASan + UBSan)", async () => {
    const seed = String(Date.now() % 100000);
    const { stdout } = await run("make", ["-C", join(pluginsDir(), "common"), "check", "ITER=20000", `SEED=${seed}`], {
      timeout: 300_000,
      maxBuffer: 8 * 1024 * 1024,
    });
    expect(stdout, `seed ${seed}`).toContain("fuzz ok");
  }, 600_000); // builds with ASan first: minutes on a loaded 2-core machine
});
