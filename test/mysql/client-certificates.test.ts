// Client certificates on the client leg: with tls.ca configured, smgate requires a certificate signed by that CA
// (like the PostgreSQL listener); the verified subject CN is in the session context.
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MysqlGateway, MysqlSessionContext } from "../../proxy/mysql/index.js";
import { startGateway } from "./gateway-harness.js";
import { makeTestCerts, type TestCerts } from "./tls-certs.js";

let certs: TestCerts;
let otherCa: TestCerts;
let gw: MysqlGateway;
const sessions: MysqlSessionContext[] = [];

beforeAll(async () => {
  certs = makeTestCerts();
  otherCa = makeTestCerts();
  gw = await startGateway({
    tls: { cert: certs.cert, key: certs.key, ca: certs.ca },
    hooks: (ctx) => {
      sessions.push(ctx);
      return undefined;
    },
  });
});

afterAll(async () => {
  await gw?.close();
  certs?.cleanup();
  otherCa?.cleanup();
});

const connect = (ssl: mysql.SslOptions) =>
  mysql.createConnection({ host: "127.0.0.1", port: gw.address().port, user: "root", ssl, connectTimeout: 5000 });

describe("client certificates (tls.ca set)", () => {
  it("accepts a client certificate signed by the CA and records its CN", async () => {
    const c = await connect({
      ca: certs.ca.toString(),
      cert: certs.clientCert.toString(),
      key: certs.clientKey.toString(),
    });
    const [r] = await c.query<mysql.RowDataPacket[]>("SELECT 'mtls' AS m");
    expect(r).toEqual([{ m: "mtls" }]);
    expect(sessions.at(-1)?.clientCertificateCN).toBe("smgate-test-client");
    await c.end();
  });

  it("rejects a client without a certificate", async () => {
    await expect(connect({ ca: certs.ca.toString() })).rejects.toBeTruthy();
  });

  it("rejects a client certificate from another CA", async () => {
    await expect(
      connect({ ca: certs.ca.toString(), cert: otherCa.clientCert.toString(), key: otherCa.clientKey.toString() }),
    ).rejects.toBeTruthy();
  });

  it("refuses a plain (non-TLS) client: the certificate requirement cannot be bypassed", async () => {
    await expect(
      mysql.createConnection({ host: "127.0.0.1", port: gw.address().port, user: "root" }),
    ).rejects.toMatchObject({ errno: 1045 });
  });
});
