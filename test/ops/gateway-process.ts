// Test helper for the operations suites: a fresh database on the real PostgreSQL (prefix smg_ops_), a
// keystore (data key + audit key), a policy protecting ops_t.phone, optional metrics/admin/audit sections
// and admin PKI, and the real gateway process (`node dist/cli/main.js start`) with its stdout lines, plus
// helpers to scrape /metrics, call the admin API with a client certificate and find the worker processes.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { AUDIT_KEY_NAME } from "../../audit/chain.js";
import { initKeyStore } from "../../keystore/open.js";
import { makePki, type Pem } from "../admin/certs.js";
import { adminQuery } from "../pg-encrypt/encrypt-fixture.js";

export const CLI = join(process.cwd(), "dist/cli/main.js");
export const ROLE_CNS = {
  admin: "ops-admin",
  auditor: "ops-auditor",
  operator: "ops-operator",
  application: "ops-app",
};
const run = promisify(execFile);

export const OPS_SQL = "CREATE TABLE ops_t (id integer PRIMARY KEY, phone text, note text)";

/** app "his" sees phone in plaintext (or masked, with `masked`); everyone else is denied. */
export function opsPolicy(opts: { masked?: boolean } = {}): string {
  const his = opts.masked ? '    mask: { public.ops_t.phone: "keep:3,4" }\n' : "    plaintext: [public.ops_t.phone]\n";
  return `version: 1
tables:
  public.ops_t:
    columns:
      phone: { protect: encrypt, mode: deterministic, key: ops }
access:
  - name: his
    match: { users: [postgres], apps: [his] }
${his}  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;
}

export interface OpsEnv {
  dir: string;
  db: string;
  configPath: string;
  policyPath: string;
  env: NodeJS.ProcessEnv;
  pki?: ReturnType<typeof makePki>;
  writePolicy(text: string): void;
  drop(): Promise<void>;
}

export async function makeOpsEnv(
  tag: string,
  opts: { metrics?: boolean; admin?: boolean; audit?: boolean } = {},
): Promise<OpsEnv> {
  const dir = mkdtempSync(join(tmpdir(), `smg-ops-${tag}-`));
  const masterEnv = "SMG_OPS_MASTER";
  const env: NodeJS.ProcessEnv = { ...process.env, [masterEnv]: randomBytes(16).toString("hex") };
  const ks = await initKeyStore({ provider: "env", path: join(dir, "ks.json"), master_key_env: masterEnv }, { env });
  ks.createKey("ops");
  ks.createKey(AUDIT_KEY_NAME);
  ks.save();
  ks.close();
  const db = `smg_ops_${tag}_${randomBytes(3).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${db}`);
  await adminQuery(OPS_SQL, db);
  env.SMGATE_CATALOG_DATABASES = db;
  const policyPath = join(dir, "policy.yaml");
  writeFileSync(policyPath, opsPolicy());
  const lines = [
    "pg: { listen: 127.0.0.1:0, backend: 127.0.0.1:5432 }",
    `keystore: { provider: env, path: ./ks.json, master_key_env: ${masterEnv} }`,
    "policy: ./policy.yaml",
  ];
  if (opts.metrics) lines.push("metrics: { listen: localhost:0 }");
  if (opts.audit) lines.push("audit: { path: ./audit.log }");
  let pki: ReturnType<typeof makePki> | undefined;
  if (opts.admin) {
    pki = makePki([...Object.values(ROLE_CNS), "ops-nobody"]);
    writeFileSync(join(dir, "admin.crt"), pki.server.cert);
    writeFileSync(join(dir, "admin.key"), pki.server.key);
    writeFileSync(join(dir, "ca.crt"), pki.ca);
    lines.push(
      "admin:",
      "  listen: 127.0.0.2:0",
      "  tls: { cert: ./admin.crt, key: ./admin.key, ca: ./ca.crt }",
      "  roles:",
      ...Object.entries(ROLE_CNS).map(([role, cn]) => `    ${role}: [${cn}]`),
    );
  }
  const configPath = join(dir, "smgate.yaml");
  writeFileSync(configPath, `${lines.join("\n")}\n`);
  return {
    dir,
    db,
    configPath,
    policyPath,
    env,
    pki,
    writePolicy: (text) => writeFileSync(policyPath, text),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).then(() => undefined),
  };
}

export interface RunningGateway {
  pid: number;
  pgPort: number;
  metricsPort?: number;
  adminPort?: number;
  stdout: string[];
  stderr: () => string;
  /** resolves with the first stdout line (from index `from`) matching re */
  waitFor(re: RegExp, from?: number, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: string | null }>;
  signal(sig: NodeJS.Signals): void;
  client(env: OpsEnv, app?: string): pg.Client;
}

export async function startGatewayProcess(env: OpsEnv, args: string[] = []): Promise<RunningGateway> {
  const child = spawn(process.execPath, [CLI, "start", "--config", env.configPath, ...args], {
    env: env.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  let err = "";
  let partial = "";
  const waiters: { re: RegExp; from: number; resolve: (l: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const hit = stdout.slice(w.from).find((l) => w.re.test(l));
      if (hit !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  };
  child.stdout.on("data", (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    stdout.push(...parts);
    check();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
    if (err.length > 2_000_000) err = err.slice(-1_000_000);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (re: RegExp, from = 0, timeoutMs = 240_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no stdout line matching ${re} within ${timeoutMs} ms:\n${stdout.join("\n")}\n${err.slice(-3000)}`,
            ),
          ),
        timeoutMs,
      );
      waiters.push({
        re,
        from,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      check();
      exited.then(({ code }) =>
        reject(new Error(`smgate exited (${code}):\n${stdout.join("\n")}\n${err.slice(-3000)}`)),
      );
    });
  await waitFor(/^smgate: ready/);
  const port = (re: RegExp) => {
    const l = stdout.find((x) => re.test(x));
    return l ? Number(/:(\d+)$/.exec(l)?.[1]) : undefined;
  };
  const pgPort = port(/^smgate: pg listening on /) as number;
  return {
    pid: child.pid as number,
    pgPort,
    metricsPort: port(/^smgate: metrics listening on /),
    adminPort: port(/^smgate: admin listening on /),
    stdout,
    stderr: () => err,
    waitFor,
    exited,
    signal: (sig) => child.kill(sig),
    client: (e, app = "his") =>
      new pg.Client({ host: "127.0.0.1", port: pgPort, user: "postgres", database: e.db, application_name: app }),
  };
}

/** Stops the gateway (SIGTERM) and waits for it; SIGKILL if it hangs. */
export async function stopGateway(g: RunningGateway | undefined): Promise<void> {
  if (!g) return;
  g.signal("SIGTERM");
  const t = setTimeout(() => g.signal("SIGKILL"), 30_000);
  await g.exited;
  clearTimeout(t);
}

/** Child process ids of the gateway (its cluster workers). */
export async function workerPids(pid: number): Promise<number[]> {
  const r = await run("pgrep", ["-P", String(pid)]).catch(() => ({ stdout: "" }));
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map(Number)
    .sort((a, b) => a - b);
}

export async function scrape(port: number, path = "/metrics"): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return r.text();
}

/** Parsed sample lines of an exposition: name, labels, value. */
export function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the series of `name` whose labels include `want`. */
export function metricSum(text: string, name: string, want: Record<string, string> = {}): number {
  return samples(text)
    .filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

export function adminCall(
  env: OpsEnv,
  port: number,
  who: Pem | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown; text: string }> {
  const pki = env.pki;
  if (!pki) throw new Error("env has no admin PKI");
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: "127.0.0.2",
        port,
        method,
        path,
        ca: pki.ca,
        servername: undefined,
        checkServerIdentity: () => undefined,
        ...(who ? { cert: who.cert, key: who.key } : {}),
        headers: data ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) } : {},
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json, text });
        });
      },
    );
    req.on("error", reject);
    if (data) req.end(data);
    else req.end();
  });
}
