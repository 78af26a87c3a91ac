// Test helper for the encryption layer end to end: a fresh database on the real PostgreSQL 15 (prefix
// smg_pgenc_), the shared test layer inputs (keystore with the policy's keys, PolicyHolder, in-memory logs,
// own metrics registry, audit events: encrypt-shared/layer-inputs.ts), and the gateway with the encryption
// hooks in front. Also a direct client to read what is stored.
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { AuditEvent } from "../../audit/record.js";
import type { KeyStore } from "../../keystore/keystore.js";
import type { PolicyHolder } from "../../policy/holder.js";
import type { GatewayMetrics } from "../../proxy/metrics.js";
import { createPgEncryption, type PgEncryption, pgCatalogQuery } from "../../proxy/pg/encrypt/index.js";
import { type Gateway, startGateway } from "../../proxy/server.js";
import { openTestLayerInputs } from "../encrypt-shared/layer-inputs.js";

export const PG = { host: "127.0.0.1", port: 5432, user: "postgres" };

export interface EncryptedGateway {
  db: string;
  gateway: Gateway;
  port: number;
  enc: PgEncryption;
  policy: PolicyHolder;
  keystore: KeyStore;
  metrics: GatewayMetrics;
  /** everything smgate logged (JSON lines) */
  logs: string[];
  /** audit events recorded by the encryption layer */
  audit: AuditEvent[];
  /** a client through smgate */
  client(extra?: Partial<pg.ClientConfig>): pg.Client;
  /** a client straight to the server (what is stored) */
  direct(): pg.Client;
  stop(): Promise<void>;
}

export async function adminQuery(sql: string, database = "test"): Promise<pg.QueryResult> {
  const c = new pg.Client({ ...PG, database });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Creates (once per cluster) a login role for subject tests; ignores "already exists". */
export async function ensureRole(name: string): Promise<void> {
  await adminQuery(`DO $$BEGIN CREATE ROLE ${name} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$`).catch(
    () => {},
  );
}

export async function startEncryptedGateway(opts: {
  tag: string;
  schemaSql: string;
  policyYaml: string;
  keys: string[];
}): Promise<EncryptedGateway> {
  const db = `smg_pgenc_${opts.tag}_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${db}`);
  await adminQuery(opts.schemaSql, db);
  const { keystore, policy, logger, logs, metrics, audit, auditSink } = await openTestLayerInputs({
    tmpPrefix: "smg-pgenc-",
    masterKeyEnv: "SMG_PGENC_MASTER",
    keys: opts.keys,
    policyYaml: opts.policyYaml,
  });
  const enc = await createPgEncryption({
    policy,
    keyRing: keystore.keyRing(),
    catalogQuery: pgCatalogQuery(PG),
    preload: [db],
    metrics,
    logger,
    audit: auditSink,
  });
  const gateway = await startGateway(
    {
      pg: { listen: "127.0.0.1:0", backend: `${PG.host}:${PG.port}` },
      limits: { max_connections: 200, max_message_bytes: 64 * 1024 * 1024 },
    },
    { logger, pgHooks: enc.hooks },
  );
  const port = gateway.pg!.address().port;
  return {
    db,
    gateway,
    port,
    enc,
    policy,
    keystore,
    metrics,
    logs,
    audit,
    client: (extra = {}) => new pg.Client({ host: "127.0.0.1", port, user: PG.user, database: db, ...extra }),
    direct: () => new pg.Client({ ...PG, database: db }),
    async stop() {
      await gateway.shutdown(2000);
      enc.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    },
  };
}

/** Runs fn with a connected client and always ends it. */
export async function withClient<T>(c: pg.Client, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}
