// Test-made PKI for the admin API tests: a CA, a server certificate for 127.0.0.1 and client certificates
// with chosen CNs (plus one from a foreign CA), all created with the openssl command in a temp folder.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pem {
  cert: Buffer;
  key: Buffer;
}

function ossl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

function makeCa(dir: string, name: string): void {
  ossl(
    dir,
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
  );
}

function issue(dir: string, ca: string, cn: string, server: boolean): Pem {
  ossl(
    dir,
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    `/CN=${cn}`,
    "-keyout",
    `${cn}.key`,
    "-out",
    `${cn}.csr`,
  );
  const ext = join(dir, `${cn}.ext`);
  execFileSync("sh", [
    "-c",
    `printf '%s\\n' "${server ? "subjectAltName=IP:127.0.0.1" : "extendedKeyUsage=clientAuth"}" > ${ext}`,
  ]);
  ossl(
    dir,
    "x509",
    "-req",
    "-in",
    `${cn}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    `${cn}.crt`,
  );
  return { cert: readFileSync(join(dir, `${cn}.crt`)), key: readFileSync(join(dir, `${cn}.key`)) };
}

export function makePki(clientCns: string[]): { ca: Buffer; server: Pem; clients: Record<string, Pem>; foreign: Pem } {
  const dir = mkdtempSync(join(tmpdir(), "smg-admin-pki-"));
  makeCa(dir, "testca");
  makeCa(dir, "foreignca");
  const clients: Record<string, Pem> = {};
  for (const cn of clientCns) clients[cn] = issue(dir, "testca", cn, false);
  return {
    ca: readFileSync(join(dir, "testca.crt")),
    server: issue(dir, "testca", "smgate-admin", true),
    clients,
    foreign: issue(dir, "foreignca", "intruder", false),
  };
}
