// Test helper: starts the gateway in-process on port 0 in front of the real PostgreSQL 15 (or a given
// backend), with a silent logger, and creates/drops per-test databases with the smg_pg_ prefix.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { pino } from "pino";
import type { Logger } from "../../proxy/log.js";
import type { HooksFactory } from "../../proxy/pg/hooks.js";
import { type Gateway, type GatewayConfig, startGateway } from "../../proxy/server.js";

export const PG_HOST = "127.0.0.1";
export const PG_PORT = 5432;
export const PG_USER = "postgres";

export interface TestGateway {
  gateway: Gateway;
  port: number;
  /** Connection config for node-postgres through the gateway. */
  client(database?: string, extra?: Partial<pg.ClientConfig>): pg.Client;
  stop(deadlineMs?: number): Promise<void>;
}

export function silentLogger(): Logger {
  return pino({ level: process.env.SMGATE_TEST_LOG ?? "silent" });
}

export async function startTestGateway(
  opts: {
    pg?: Partial<NonNullable<GatewayConfig["pg"]>>;
    limits?: Partial<GatewayConfig["limits"]>;
    hooks?: HooksFactory;
    authTimeoutMs?: number;
  } = {},
): Promise<TestGateway> {
  const config: GatewayConfig = {
    pg: { listen: "127.0.0.1:0", backend: `${PG_HOST}:${PG_PORT}`, ...opts.pg },
    limits: { max_connections: 100, max_message_bytes: 64 * 1024 * 1024, ...opts.limits },
  };
  const gateway = await startGateway(config, {
    logger: silentLogger(),
    pgHooks: opts.hooks,
    authTimeoutMs: opts.authTimeoutMs,
  });
  const port = gateway.pg!.address().port;
  return {
    gateway,
    port,
    client: (database = "test", extra = {}) =>
      new pg.Client({ host: "127.0.0.1", port, user: PG_USER, database, ...extra }),
    stop: (d = 2000) => gateway.shutdown(d),
  };
}

/** A client straight to the server (to check what is stored / server-side state). */
export function directClient(database = "test"): pg.Client {
  return new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database });
}

export async function createTestDatabase(tag: string): Promise<string> {
  const name = `smg_pg_${tag}_${randomBytes(4).toString("hex")}`;
  const c = directClient();
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  return name;
}

export async function dropTestDatabase(name: string): Promise<void> {
  const c = directClient();
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}
