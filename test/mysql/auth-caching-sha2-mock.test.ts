// caching_sha2_password through the gateway against a MOCK backend (MariaDB 10.11 has no caching_sha2_password):
// auth switch, fast path, full path with the RSA key exchange relayed, and the two mixed-TLS bridges — client TLS /
// backend plain (smgate RSA-encrypts with the server's key; no cleartext on the plain leg) and client plain /
// backend TLS (smgate offers its own RSA key, then sends the password over TLS).
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MysqlGateway, startMysqlGateway } from "../../proxy/mysql/index.js";
import { silentLogger } from "./gateway-harness.js";
import { type MockOptions, type MockServer, startMockServer } from "./mock-server.js";
import { makeTestCerts, type TestCerts } from "./tls-certs.js";

const PASSWORD = "s3cret-Pässword";
let certs: TestCerts;

beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs?.cleanup());

async function setup(
  mock: Partial<MockOptions>,
  gwOpts: { clientTls?: boolean; backendTls?: boolean },
): Promise<{ mockServer: MockServer; gw: MysqlGateway; done: () => Promise<void> }> {
  const mockServer = await startMockServer({
    initialPlugin: "mysql_native_password",
    password: PASSWORD,
    fastPath: true,
    ...mock,
  });
  const gw = await startMysqlGateway({
    listen: "127.0.0.1:0",
    backend: `127.0.0.1:${mockServer.port}`,
    logger: silentLogger,
    tls: gwOpts.clientTls ? { cert: certs.cert, key: certs.key } : undefined,
    backendTls: gwOpts.backendTls ? { ca: certs.ca } : undefined,
  });
  return {
    mockServer,
    gw,
    done: async () => {
      await gw.close();
      await mockServer.close();
    },
  };
}

async function connectAndQuery(gw: MysqlGateway, password: string, ssl: boolean): Promise<string> {
  const c = await mysql.createConnection({
    host: "127.0.0.1",
    port: gw.address().port,
    user: "app",
    password,
    ssl: ssl ? { ca: certs.ca.toString() } : undefined,
  });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT 'hello'");
    return String(rows[0].q);
  } finally {
    await c.end().catch(() => {});
  }
}

describe("caching_sha2_password via mock backend", () => {
  it("mock: auth switch from mysql_native_password to caching_sha2_password, fast path", async () => {
    const s = await setup({ initialPlugin: "mysql_native_password", fastPath: true }, {});
    try {
      expect(await connectAndQuery(s.gw, PASSWORD, false)).toBe("SELECT 'hello'");
      expect(s.mockServer.events.proofs).toEqual(["token"]);
    } finally {
      await s.done();
    }
  });

  it("mock: caching_sha2_password as the initial plugin, fast path; wrong password is refused", async () => {
    const s = await setup({ initialPlugin: "caching_sha2_password", fastPath: true }, {});
    try {
      expect(await connectAndQuery(s.gw, PASSWORD, false)).toBe("SELECT 'hello'");
      await expect(connectAndQuery(s.gw, "wrong", false)).rejects.toMatchObject({ errno: 1045 });
    } finally {
      await s.done();
    }
  });

  it("mock: full authentication on plain legs relays the server's RSA public key exchange", async () => {
    const s = await setup({ fastPath: false }, {});
    try {
      expect(await connectAndQuery(s.gw, PASSWORD, false)).toBe("SELECT 'hello'");
      expect(s.mockServer.events.proofs).toEqual(["rsa"]);
      expect(s.mockServer.events.cleartextOnPlain).toEqual([]);
    } finally {
      await s.done();
    }
  });

  it("mock: client TLS + plain backend: smgate RSA-encrypts the cleartext password with the server key", async () => {
    const s = await setup({ fastPath: false }, { clientTls: true });
    try {
      expect(await connectAndQuery(s.gw, PASSWORD, true)).toBe("SELECT 'hello'");
      expect(s.mockServer.events.proofs).toEqual(["rsa"]);
      expect(s.mockServer.events.cleartextOnPlain).toEqual([]);
      await expect(connectAndQuery(s.gw, "wrong", true)).rejects.toMatchObject({ errno: 1045 });
      expect(s.mockServer.events.cleartextOnPlain).toEqual([]);
    } finally {
      await s.done();
    }
  });

  it("mock: plain client + TLS backend: smgate answers the key request with its own key, server gets TLS", async () => {
    const s = await setup({ fastPath: false, tls: { cert: certs.cert, key: certs.key } }, { backendTls: true });
    try {
      expect(await connectAndQuery(s.gw, PASSWORD, false)).toBe("SELECT 'hello'");
      expect(s.mockServer.events.proofs).toEqual(["cleartext-tls"]);
      await expect(connectAndQuery(s.gw, "wrong", false)).rejects.toMatchObject({ errno: 1045 });
    } finally {
      await s.done();
    }
  });

  it("mock: TLS on both legs passes the cleartext password over TLS only", async () => {
    const s = await setup(
      { fastPath: false, tls: { cert: certs.cert, key: certs.key } },
      { clientTls: true, backendTls: true },
    );
    try {
      expect(await connectAndQuery(s.gw, PASSWORD, true)).toBe("SELECT 'hello'");
      expect(s.mockServer.events.proofs).toEqual(["cleartext-tls"]);
      // the server leg really is TLS: the mock saw an SSLRequest (it only records non-SSL responses as caps)
      expect(s.mockServer.events.clientCaps[0] & 0x800).toBe(0x800);
    } finally {
      await s.done();
    }
  });
});
