// Test-made TLS material: a throwaway CA and a server certificate for 127.0.0.1 / localhost, generated with the
// openssl CLI into a temp folder (removed by the caller).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCerts {
  dir: string;
  /** A client certificate (CN=smgate-test-client) signed by the same CA. */
  clientCert: Buffer;
  clientKey: Buffer;
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  cleanup(): void;
}

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "smg-mysql-tls-"));
  const f = (n: string) => join(dir, n);
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=smgate test CA",
  ]);
  run([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    f("server.key"),
    "-out",
    f("server.csr"),
    "-subj",
    "/CN=localhost",
  ]);
  const ext = f("ext.cnf");
  execFileSync("sh", ["-c", `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > '${ext}'`]);
  run([
    "x509",
    "-req",
    "-in",
    f("server.csr"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("server.pem"),
    "-days",
    "2",
    "-extfile",
    ext,
  ]);
  run([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    f("client.key"),
    "-out",
    f("client.csr"),
    "-subj",
    "/CN=smgate-test-client",
  ]);
  const clientExt = f("client-ext.cnf");
  execFileSync("sh", ["-c", `printf 'extendedKeyUsage=clientAuth\\nkeyUsage=digitalSignature\\n' > '${clientExt}'`]);
  run([
    "x509",
    "-req",
    "-in",
    f("client.csr"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("client.pem"),
    "-days",
    "2",
    "-extfile",
    clientExt,
  ]);
  return {
    dir,
    clientCert: readFileSync(f("client.pem")),
    clientKey: readFileSync(f("client.key")),
    caFile: f("ca.pem"),
    certFile: f("server.pem"),
    keyFile: f("server.key"),
    ca: readFileSync(f("ca.pem")),
    cert: readFileSync(f("server.pem")),
    key: readFileSync(f("server.key")),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
