// psql (libpq) scripted through the gateway with TLS to the client: self-signed certificate made here
// with `openssl req`; sslmode=require and verify-full succeed, the session really is encrypted
// (\conninfo), and a gateway without TLS refuses sslmode=require the way a server without TLS does.
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dropTestDatabase, startTestGateway, type TestGateway } from "./gateway-fixture.js";
import { makeSelfSignedCert } from "./temp-cluster.js";

const run = promisify(execFile);
let dir: string;
let cert: string;
let tlsGw: TestGateway;
let plainGw: TestGateway;
let db: string;

beforeAll(async () => {
  dir = mkdtempSync("/tmp/smg_pg_tls_");
  ({ cert } = makeSelfSignedCert(dir, "localhost"));
  tlsGw = await startTestGateway({ pg: { tls: { cert, key: join(dir, "server.key") } } });
  plainGw = await startTestGateway();
  db = await createTestDatabase("psql");
});

afterAll(async () => {
  await tlsGw?.stop();
  await plainGw?.stop();
  if (db) await dropTestDatabase(db);
  rmSync(dir, { recursive: true, force: true });
});

async function psql(conninfo: string, script: string): Promise<string> {
  const { stdout } = await run("psql", [conninfo, "-X", "-v", "ON_ERROR_STOP=1", "-At", "-c", script], {
    env: { ...process.env, PGCONNECT_TIMEOUT: "10" },
  });
  return stdout;
}

describe("psql through smgate with TLS", () => {
  it("runs a script with sslmode=require (encrypted, results intact)", async () => {
    const script = [
      "\\conninfo",
      "CREATE TABLE t (id int primary key, name text);",
      "INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 1000) g;",
      "SELECT count(*), sum(id) FROM t;",
      "\\copy (SELECT id, name FROM t WHERE id <= 3 ORDER BY id) TO STDOUT",
      "BEGIN; UPDATE t SET name = 'x' WHERE id = 1; ROLLBACK;",
      "SELECT name FROM t WHERE id = 1;",
    ].join("\n");
    const { stdout } = await runScript(
      `host=127.0.0.1 port=${tlsGw.port} user=postgres dbname=${db} sslmode=require`,
      script,
    );
    expect(stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
    expect(stdout).toContain("1000|500500");
    expect(stdout).toContain("1\tn1\n2\tn2\n3\tn3");
    expect(stdout.trim().endsWith("n1")).toBe(true);
  });

  it("verifies the gateway certificate with sslmode=verify-full", async () => {
    const out = await psql(
      `host=localhost hostaddr=127.0.0.1 port=${tlsGw.port} user=postgres dbname=${db} sslmode=verify-full sslrootcert=${cert}`,
      "SELECT 'verified'",
    );
    expect(out.trim()).toBe("verified");
  });

  it("still accepts plaintext clients (sslmode=disable) on a TLS-enabled listener", async () => {
    expect(
      (await psql(`host=127.0.0.1 port=${tlsGw.port} user=postgres dbname=${db} sslmode=disable`, "SELECT 42")).trim(),
    ).toBe("42");
  });

  it("requires a client certificate signed by tls.ca when ca is configured (mutual TLS)", async () => {
    const ca = makeCa(dir);
    const client = signedCert(dir, ca, "postgres");
    const other = makeCa(mkdtempSync("/tmp/smg_pg_tls_other_"));
    const mtls = await startTestGateway({ pg: { tls: { cert, key: join(dir, "server.key"), ca: ca.cert } } });
    try {
      const base = `host=127.0.0.1 port=${mtls.port} user=postgres dbname=${db} sslmode=require`;
      expect((await psql(`${base} sslcert=${client.cert} sslkey=${client.key}`, "SELECT 'mtls ok'")).trim()).toBe(
        "mtls ok",
      );
      const noCert = await psql(`${base} sslcert=/nonexistent sslkey=/nonexistent`, "SELECT 1").catch((e: Error) => e);
      expect(noCert, "without a client certificate").toBeInstanceOf(Error);
      // a certificate from another CA is refused as well
      const stranger = signedCert(dir, other, "postgres", "stranger");
      const wrongCa = await psql(`${base} sslcert=${stranger.cert} sslkey=${stranger.key}`, "SELECT 1").catch(
        (e: Error) => e,
      );
      expect(wrongCa, "with a certificate from another CA").toBeInstanceOf(Error);
    } finally {
      await mtls.stop();
      rmSync(join(other.cert, ".."), { recursive: true, force: true });
    }
  });

  it("refuses sslmode=require when the listener has no TLS (answers N to SSLRequest)", async () => {
    await expect(
      psql(`host=127.0.0.1 port=${plainGw.port} user=postgres dbname=${db} sslmode=require`, "SELECT 1"),
    ).rejects.toThrow(/server does not support SSL/);
  });
});

function runScript(conninfo: string, script: string): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "psql",
      [conninfo, "-X", "-v", "ON_ERROR_STOP=1", "-At", "-f", "-"],
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve({ stdout });
      },
    );
    child.stdin?.end(script);
  });
}

function makeCa(d: string): { cert: string; key: string } {
  const cert = join(d, "ca.crt");
  const key = join(d, "ca.key");
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
      "/CN=smgate test CA",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    {
      stdio: "ignore",
    },
  );
  return { cert, key };
}

function signedCert(
  d: string,
  ca: { cert: string; key: string },
  cn: string,
  tag = "client",
): { cert: string; key: string } {
  const key = join(d, `${tag}.key`);
  const csr = join(d, `${tag}.csr`);
  const cert = join(d, `${tag}.crt`);
  execFileSync(
    "openssl",
    ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", key, "-out", csr],
    { stdio: "ignore" },
  );
  execFileSync(
    "openssl",
    ["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "1", "-out", cert],
    {
      stdio: "ignore",
    },
  );
  chmodSync(key, 0o600);
  return { cert, key };
}
