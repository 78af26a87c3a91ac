// Authentication passthrough against a real PostgreSQL 15 cluster made for this test (initdb on a free
// port) with password, md5 and scram-sha-256 in pg_hba.conf and TLS enabled on the server. smgate relays
// the exchange; it never sees or needs the passwords.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../../proxy/server.js";
import { silentLogger } from "./gateway-fixture.js";
import { makeSelfSignedCert, startTempCluster, type TempCluster } from "./temp-cluster.js";

let cluster: TempCluster;
const gateways: Gateway[] = [];

const HBA = `
local all all trust
host all postgres 127.0.0.1/32 trust
host all smg_md5 127.0.0.1/32 md5
host all smg_scram 127.0.0.1/32 scram-sha-256
host all smg_plain 127.0.0.1/32 password
`;

beforeAll(async () => {
  cluster = await startTempCluster(HBA, { ssl: true });
  cluster.psql("SET password_encryption = 'md5'; CREATE ROLE smg_md5 LOGIN PASSWORD 'md5-secret'");
  cluster.psql("SET password_encryption = 'scram-sha-256'; CREATE ROLE smg_scram LOGIN PASSWORD 'scram-secret'");
  cluster.psql("CREATE ROLE smg_plain LOGIN PASSWORD 'plain-secret'");
}, 120_000);

afterAll(async () => {
  for (const g of gateways) await g.shutdown(1000);
  cluster?.stop();
});

async function gateway(pgCfg: Record<string, unknown> = {}): Promise<number> {
  const g = await startGateway(
    {
      pg: { listen: "127.0.0.1:0", backend: `127.0.0.1:${cluster.port}`, ...pgCfg },
      limits: { max_connections: 50, max_message_bytes: 1 << 26 },
    },
    { logger: silentLogger() },
  );
  gateways.push(g);
  return g.pg!.address().port;
}

async function login(
  port: number,
  user: string,
  password: string,
  ssl?: pg.ClientConfig["ssl"],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const c = new pg.Client({ host: "127.0.0.1", port, user, password, database: "postgres", ssl, ...extra });
  await c.connect();
  try {
    return (await c.query("SELECT current_user AS u")).rows[0].u;
  } finally {
    await c.end();
  }
}

describe("authentication passthrough (real server, password / md5 / scram-sha-256)", () => {
  it("relays cleartext password, MD5 and SCRAM-SHA-256 logins, and wrong passwords fail with 28P01", async () => {
    const port = await gateway();
    expect(await login(port, "smg_plain", "plain-secret")).toBe("smg_plain");
    expect(await login(port, "smg_md5", "md5-secret")).toBe("smg_md5");
    expect(await login(port, "smg_scram", "scram-secret")).toBe("smg_scram");
    for (const user of ["smg_plain", "smg_md5", "smg_scram"]) {
      await expect(login(port, user, "wrong")).rejects.toMatchObject({ code: "28P01" });
    }
  });

  it("SCRAM works with TLS to the server (smgate strips SCRAM-SHA-256-PLUS from the offer)", async () => {
    const port = await gateway({ backend_tls: { reject_unauthorized: false } });
    expect(await login(port, "smg_scram", "scram-secret")).toBe("smg_scram");
    expect(await login(port, "smg_md5", "md5-secret")).toBe("smg_md5");
    // the server really sees TLS from smgate
    const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
    await c.connect();
    const r = await c.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    await c.end();
    expect(r.rows[0].ssl).toBe(true);
  });

  it("verifies the server certificate on the backend TLS hop", async () => {
    // trusted via `ca` (the cluster's self-signed cert, SAN IP:127.0.0.1): works
    const trusted = await gateway({ backend_tls: { ca: `${cluster.dir}/server.crt` } });
    expect(await login(trusted, "smg_md5", "md5-secret")).toBe("smg_md5");
    // `true` = system CAs only: the self-signed server certificate is refused
    const strict = await gateway({ backend_tls: true });
    await expect(login(strict, "smg_md5", "md5-secret")).rejects.toMatchObject({ code: "08006" });
  });

  it("SCRAM works with TLS from the client and a plaintext server connection", async () => {
    const { cert, key } = makeSelfSignedCert(cluster.dir, "smgate-test");
    const port = await gateway({ tls: { cert, key } });
    expect(await login(port, "smg_scram", "scram-secret", { rejectUnauthorized: false })).toBe("smg_scram");
  });

  it("known limit: TLS on both sides + a channel-binding-capable client cannot pass SCRAM through (documented)", async () => {
    const { cert, key } = makeSelfSignedCert(cluster.dir, "smgate-test2");
    const port = await gateway({ tls: { cert, key }, backend_tls: { reject_unauthorized: false } });
    // a client that does not announce channel binding (gs2 flag 'n': node-postgres default, libpq
    // channel_binding=disable) logs in fine
    expect(await login(port, "smg_scram", "scram-secret", { rejectUnauthorized: false })).toBe("smg_scram");
    // A client that, on TLS, announces channel-binding support (gs2 flag 'y', as libpq does by default) is
    // refused by a server that itself runs TLS: it treats the missing -PLUS offer as a downgrade attack.
    // docs/PROTOCOL-PG.md explains the deployment options.
    await expect(
      login(port, "smg_scram", "scram-secret", { rejectUnauthorized: false }, { enableChannelBinding: true }),
    ).rejects.toThrow(/channel binding/i);
    // md5 is unaffected
    expect(await login(port, "smg_md5", "md5-secret", { rejectUnauthorized: false })).toBe("smg_md5");
  });
});
