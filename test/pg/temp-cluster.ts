// Test helper: a throw-away PostgreSQL 15 cluster (initdb as the postgres OS user) on a free port, with a
// pg_hba.conf chosen by the test (password / md5 / scram-sha-256) and optional server TLS. Removed on stop().
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

const BIN = "/usr/lib/postgresql/15/bin";

export interface TempCluster {
  port: number;
  dir: string;
  psql(sql: string): string;
  stop(): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const PG_UID = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
const PG_GID = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());

function asPostgres(cmd: string): string {
  return execFileSync("su", ["postgres", "-c", cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function makeSelfSignedCert(dir: string, cn = "localhost"): { cert: string; key: string } {
  const cert = join(dir, "server.crt");
  const key = join(dir, "server.key");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${cn}`,
      "-addext",
      `subjectAltName=DNS:${cn},IP:127.0.0.1`,
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}

export async function startTempCluster(hba: string, opts: { ssl?: boolean } = {}): Promise<TempCluster> {
  const dir = mkdtempSync("/tmp/smg_pg_cluster_");
  chmodSync(dir, 0o755);
  chownSync(dir, PG_UID, PG_GID);
  const data = join(dir, "data");
  const port = await freePort();
  asPostgres(`${BIN}/initdb -D ${data} -A trust -U postgres --no-sync >/dev/null`);
  writeFileSync(join(data, "pg_hba.conf"), hba);
  const conf = [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    "fsync = off",
  ];
  if (opts.ssl) {
    const { cert, key } = makeSelfSignedCert(dir);
    chownSync(cert, PG_UID, PG_GID);
    chownSync(key, PG_UID, PG_GID);
    chmodSync(key, 0o600);
    conf.push("ssl = on", `ssl_cert_file = '${cert}'`, `ssl_key_file = '${key}'`);
  }
  writeFileSync(join(data, "postgresql.auto.conf"), `${conf.join("\n")}\n`);
  chownSync(join(data, "pg_hba.conf"), PG_UID, PG_GID);
  chownSync(join(data, "postgresql.auto.conf"), PG_UID, PG_GID);
  asPostgres(`${BIN}/pg_ctl -D ${data} -l ${dir}/log -w -t 60 start >/dev/null`);
  return {
    port,
    dir,
    psql: (sql) =>
      execFileSync("psql", ["-h", dir, "-p", String(port), "-U", "postgres", "-d", "postgres", "-Atc", sql], {
        encoding: "utf8",
      }),
    stop() {
      try {
        asPostgres(`${BIN}/pg_ctl -D ${data} -m immediate stop >/dev/null`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
