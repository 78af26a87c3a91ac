// Test helpers of the bench suite: the local PostgreSQL endpoint, a throw-away database initialised by
// pgbench, and an XML well-formedness check by an independent parser (Python's xml.dom.minidom).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { pgQuery } from "../../bench/net.js";

export const PG = { host: "127.0.0.1", port: 5432, user: "postgres" };

export function uniqueDbName(tag: string): string {
  return `smg_bench_t_${tag}_${randomBytes(4).toString("hex")}`;
}

export async function createPgbenchDb(name: string, scale = 1): Promise<void> {
  await pgQuery({ ...PG, database: "postgres" }, `create database ${name}`);
  const res = spawnSync(
    "pgbench",
    ["-h", PG.host, "-p", String(PG.port), "-U", PG.user, "-i", "-q", "-s", String(scale), name],
    {
      encoding: "utf8",
    },
  );
  if (res.status !== 0) throw new Error(`pgbench -i failed: ${res.stderr}`);
}

export async function dropDb(name: string): Promise<void> {
  await pgQuery({ ...PG, database: "postgres" }, `drop database if exists ${name} with (force)`);
}

/** Parses `xml` with Python's minidom; returns the error text, or undefined when well-formed. */
export function xmlProblem(xml: string): string | undefined {
  const res = spawnSync("python3", ["-c", "import sys, xml.dom.minidom as m; m.parseString(sys.stdin.buffer.read())"], {
    input: xml,
    encoding: "utf8",
  });
  if (res.error) throw res.error;
  return res.status === 0 ? undefined : res.stderr.trim().split("\n").pop();
}
