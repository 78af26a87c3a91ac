// smgate.yaml -> gateway options: the `mysql:` listener (listen, backend, TLS files, backend_tls) and limits are
// read through policy/config.ts's loadConfig, and a gateway started from them serves a TLS client.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../policy/config.js";
import { GatewayMetrics } from "../../proxy/metrics.js";
import { mysqlOptionsFromConfig, startMysqlGateway } from "../../proxy/mysql/index.js";
import { silentLogger } from "./gateway-harness.js";
import { makeTestCerts, type TestCerts } from "./tls-certs.js";

let dir: string;
let certs: TestCerts;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "smg-mysql-cfg-"));
  certs = makeTestCerts();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  certs.cleanup();
});

function writeConfig(mysqlSection: string): string {
  const path = join(dir, `smgate-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    path,
    `${mysqlSection}\nkeystore: { provider: file, path: ./ks.json }\npolicy: ./policy.yaml\n` +
      "limits: { max_connections: 7, max_message_bytes: 1048576 }\n",
  );
  return path;
}

describe("mysqlOptionsFromConfig", () => {
  it("reads listen, backend, TLS files, backend_tls and limits", () => {
    const cfg = loadConfig(
      writeConfig(
        `mysql:\n  listen: 127.0.0.1:0\n  backend: 127.0.0.1:3306\n  tls: { cert: ${certs.certFile}, key: ${certs.keyFile} }\n` +
          `  backend_tls: { ca: ${certs.caFile}, reject_unauthorized: true, servername: db.internal }`,
      ),
    );
    const o = mysqlOptionsFromConfig(cfg);
    expect(o.listen).toBe("127.0.0.1:0");
    expect(o.backend).toBe("127.0.0.1:3306");
    expect(Buffer.isBuffer(o.tls?.cert) && o.tls?.cert.equals(certs.cert)).toBe(true);
    expect(o.backendTls).toMatchObject({ rejectUnauthorized: true, servername: "db.internal" });
    expect(o.maxConnections).toBe(7);
    expect(o.maxMessageBytes).toBe(1048576);
  });

  it("starts a gateway from smgate.yaml that serves TLS clients", async () => {
    const cfg = loadConfig(
      writeConfig(
        `mysql: { listen: 127.0.0.1:0, backend: 127.0.0.1:3306, tls: { cert: ${certs.certFile}, key: ${certs.keyFile} } }`,
      ),
    );
    const gw = await startMysqlGateway(mysqlOptionsFromConfig(cfg, { logger: silentLogger }));
    try {
      const c = await mysql.createConnection({
        host: "127.0.0.1",
        port: gw.addressInfo().port,
        user: "root",
        ssl: { ca: certs.ca.toString() },
      });
      const [r] = await c.query<mysql.RowDataPacket[]>("SELECT 'tls' AS t");
      expect(r).toEqual([{ t: "tls" }]);
      await c.end();
    } finally {
      await gw.shutdown(1000);
    }
  });

  it("counts connections and backend latency in the process metrics (protocol=mysql)", async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const gw = await startMysqlGateway({
      listen: "127.0.0.1:0",
      backend: "127.0.0.1:3306",
      logger: silentLogger,
      metrics,
    });
    try {
      const c = await mysql.createConnection({ host: "127.0.0.1", port: gw.address().port, user: "root" });
      await c.query("SELECT 1");
      const open = (await metrics.registry.getSingleMetricAsString("smgate_client_connections")).trim();
      expect(open).toContain('smgate_client_connections{protocol="mysql"} 1');
      await c.end();
      for (let i = 0; i < 50 && gw.connections() > 0; i++) await new Promise((r) => setTimeout(r, 20));
      const after = await metrics.registry.getSingleMetricAsString("smgate_client_connections");
      expect(after).toContain('smgate_client_connections{protocol="mysql"} 0');
      expect(await metrics.registry.getSingleMetricAsString("smgate_client_connections_total")).toContain(
        'smgate_client_connections_total{protocol="mysql"} 1',
      );
      // one observation per answered command (SELECT 1 plus whatever the driver sent itself, e.g. none)
      const latency = await metrics.registry.getSingleMetricAsString("smgate_backend_statement_seconds");
      expect(latency).toMatch(/smgate_backend_statement_seconds_count\{protocol="mysql"\} [1-9]/);
    } finally {
      await gw.close();
    }
  });

  it("rejects a config without a mysql listener", () => {
    const cfg = loadConfig(writeConfig("pg: { listen: 127.0.0.1:0, backend: 127.0.0.1:5432 }"));
    expect(() => mysqlOptionsFromConfig(cfg)).toThrow(/no mysql: listener/);
  });
});
