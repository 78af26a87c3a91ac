// Test helper for the MySQL encryption layer end to end: a fresh database on the real MariaDB 10.11 (prefix
// smg_myenc_), the shared test layer inputs (keystore with the policy's keys, PolicyHolder, in-memory logs,
// own metrics registry, audit events: encrypt-shared/layer-inputs.ts), and smgate's MySQL gateway with the
// encryption hooks in front. Also direct connections to read what is stored.
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import type { AuditEvent } from "../../audit/record.js";
import type { KeyStore } from "../../keystore/keystore.js";
import type { PolicyHolder } from "../../policy/holder.js";
import type { GatewayMetrics } from "../../proxy/metrics.js";
import { createMysqlEncryption, type MysqlEncryption, mysqlCatalogQuery } from "../../proxy/mysql/encrypt/index.js";
import { type MysqlGateway, startMysqlGateway } from "../../proxy/mysql/index.js";
import { openTestLayerInputs } from "../encrypt-shared/layer-inputs.js";

export const MARIADB = { host: "127.0.0.1", port: 3306, user: "root", password: "" };

export interface EncryptedMysqlGateway {
  db: string;
  gateway: MysqlGateway;
  enc: MysqlEncryption;
  policy: PolicyHolder;
  keystore: KeyStore;
  metrics: GatewayMetrics;
  /** everything smgate logged (JSON lines) */
  logs: string[];
  audit: AuditEvent[];
  /** a connection through smgate (program_name = app when given) */
  client(opts?: { user?: string; app?: string; extra?: mysql.ConnectionOptions }): Promise<mysql.Connection>;
  /** a connection straight to the server (what is stored) */
  direct(): Promise<mysql.Connection>;
  stop(): Promise<void>;
}

export async function adminQuery(sql: string, database?: string): Promise<unknown> {
  const c = await mysql.createConnection({ ...MARIADB, database, multipleStatements: true });
  try {
    const [r] = await c.query(sql);
    return r;
  } finally {
    await c.end();
  }
}

/** Creates (once per server) a login user without password for subject tests. */
export async function ensureUser(name: string): Promise<void> {
  await adminQuery(`CREATE USER IF NOT EXISTS '${name}'@'%'; CREATE USER IF NOT EXISTS '${name}'@'localhost'`);
}

export async function startEncryptedMysql(opts: {
  tag: string;
  /** schema statements (several, separated by ;) run in the new database */
  schemaSql: string;
  /** policy text; `$DB` is replaced by the database name */
  policyYaml: string;
  keys: string[];
  users?: string[];
  /** let clients enable CLIENT_MULTI_STATEMENTS (off by default in the gateway) */
  allowMultiStatements?: boolean;
}): Promise<EncryptedMysqlGateway> {
  const db = `smg_myenc_${opts.tag}_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE \`${db}\``);
  await adminQuery(opts.schemaSql, db);
  for (const u of opts.users ?? []) {
    await ensureUser(u);
    await adminQuery(`GRANT ALL ON \`${db}\`.* TO '${u}'@'%'; GRANT ALL ON \`${db}\`.* TO '${u}'@'localhost'`);
  }
  const { keystore, policy, logger, logs, metrics, audit, auditSink } = await openTestLayerInputs({
    tmpPrefix: "smg-myenc-",
    masterKeyEnv: "SMG_MYENC_MASTER",
    keys: opts.keys,
    policyYaml: opts.policyYaml.replaceAll("$DB", db),
  });
  const enc = await createMysqlEncryption({
    policy,
    keyRing: keystore.keyRing(),
    catalogQuery: mysqlCatalogQuery(MARIADB),
    metrics,
    logger,
    audit: auditSink,
  });
  const gateway = await startMysqlGateway({
    listen: "127.0.0.1:0",
    backend: `${MARIADB.host}:${MARIADB.port}`,
    hooks: enc.hooks,
    allowMultiStatements: opts.allowMultiStatements,
    logger,
    metrics,
  });
  const { host, port } = gateway.address();
  return {
    db,
    gateway,
    enc,
    policy,
    keystore,
    metrics,
    logs,
    audit,
    client: ({ user, app, extra } = {}) =>
      mysql.createConnection({
        host,
        port,
        user: user ?? MARIADB.user,
        password: "",
        database: db,
        ...(app ? { connectAttributes: { program_name: app } } : {}),
        ...extra,
      }),
    direct: () => mysql.createConnection({ ...MARIADB, database: db }),
    async stop() {
      await gateway.close();
      enc.close();
      await adminQuery(`DROP DATABASE IF EXISTS \`${db}\``);
    },
  };
}
