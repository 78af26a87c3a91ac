// `smgate start` runs the MySQL listener from smgate.yaml (the real `mariadb` client through it), and refuses
// to start it while the policy protects tables, since MySQL field encryption is not in this build (fail closed).
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const CLI = join(process.cwd(), "dist/cli/main.js");

function setup(policy: string): string {
  const dir = mkdtempSync(join(tmpdir(), "smg-start-mysql-"));
  writeFileSync(join(dir, "policy.yaml"), policy);
  writeFileSync(
    join(dir, "smgate.yaml"),
    "mysql: { listen: 127.0.0.1:0, backend: 127.0.0.1:3306 }\nkeystore: { provider: env, path: ./ks.json, master_key_env: SMG_X }\npolicy: ./policy.yaml\n",
  );
  return join(dir, "smgate.yaml");
}

describe("smgate start with a mysql listener", () => {
  it("relays the mariadb client when the policy protects nothing", async () => {
    const child = spawn(process.execPath, [CLI, "start", "--config", setup("version: 1\n"), "--log-level", "silent"]);
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d) => {
          out += d;
          const m = /mysql listening on [\d.]+:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.on("exit", (code) => reject(new Error(`smgate exited ${code}: ${out}`)));
      });
      const r = await run("mariadb", ["-h127.0.0.1", `-P${port}`, "-uroot", "-N", "-e", "SELECT 6*7", "test"]);
      expect(r.stdout.trim()).toBe("42");
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("refuses to start while the policy protects tables", async () => {
    const policy =
      "version: 1\ntables:\n  test.patients:\n    columns:\n      phone: { protect: encrypt, mode: deterministic }\naccess: []\n";
    const err = await run(process.execPath, [CLI, "start", "--config", setup(policy)]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/mysql listener has no encryption layer/);
  });
});
