// Starts `smgate start --config smgate.yaml` (PostgreSQL listener on port 0, the migrate suite's keystore and
// policy) as a subprocess and returns the address it prints, to read migrated tables through the gateway.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, exited, ROOT, type TestKeystore } from "./helpers.js";

export interface RunningGateway {
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** smgate.yaml for the suite's keystore and policy (PostgreSQL listener on port 0), optionally with an audit log. */
export function writeConfig(ks: TestKeystore, policyPath: string, auditPath?: string): string {
  const cfg = join(ks.dir, "smgate.yaml");
  writeFileSync(
    cfg,
    `pg:\n  listen: 127.0.0.1:0\n  backend: 127.0.0.1:5432\nkeystore:\n  provider: env\n  path: ${ks.cfg.path}\n` +
      `  master_key_env: SMG_MIGRATE_MASTER\npolicy: ${policyPath}\n` +
      (auditPath ? `audit:\n  path: ${auditPath}\n` : ""),
  );
  return cfg;
}

export async function startGateway(ks: TestKeystore, policyPath: string, database: string): Promise<RunningGateway> {
  const cfg = writeConfig(ks, policyPath);
  const child = spawn(process.execPath, [CLI, "start", "--config", cfg, "--log-level", "warn"], {
    cwd: ROOT,
    env: { ...ks.env, SMGATE_CATALOG_DATABASES: database },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr.on("data", (b) => (err += b));
  const addr = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`smgate start did not listen: ${err.slice(0, 2000)}`)), 30_000);
    child.stdout.on("data", (b) => {
      out += b;
      const m = /pg listening on ([\d.]+):(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ host: m[1], port: Number(m[2]) });
      }
    });
    child.on("exit", (code) => reject(new Error(`smgate start exited with ${code}: ${err.slice(0, 2000)}`)));
  });
  return {
    ...addr,
    async stop() {
      child.kill("SIGTERM");
      await exited(child);
    },
  };
}
