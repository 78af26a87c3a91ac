// Builds the MySQL encryption layer from smgate.yaml for `smgate start` (mirrors the PostgreSQL one): the
// shared layer inputs (policy or the caller's shared PolicyHolder, so reloads reach both listeners; keystore;
// audit log: encrypt/layer-config.ts) and the catalog loader connected to the configured backend (user
// SMGATE_MYSQL_CATALOG_USER, default "root"; password SMGATE_MYSQL_CATALOG_PASSWORD). Returns undefined when
// there is no mysql listener or the policy protects nothing (the gateway then stays a transparent relay).
import type { SmgateConfig } from "../../../policy/config.js";
import {
  type ConfiguredLayer,
  type LayerConfigOptions,
  openLayerInputs,
  withPolicyReload,
} from "../../encrypt/layer-config.js";
import { backendTarget } from "../../server.js";
import { mysqlCatalogQuery } from "./catalog-source.js";
import { createMysqlEncryption, type MysqlEncryption } from "./index.js";

export type ConfiguredMysqlEncryption = MysqlEncryption & ConfiguredLayer;

export async function mysqlEncryptionFromConfig(
  config: SmgateConfig,
  opts: LayerConfigOptions,
): Promise<ConfiguredMysqlEncryption | undefined> {
  if (!config.mysql) return undefined;
  const inputs = await openLayerInputs(config, opts, "MySQL");
  if (!inputs) return undefined;
  const { env } = inputs;
  const target = backendTarget(config.mysql);
  const enc = await createMysqlEncryption({
    policy: inputs.policy,
    keyRing: inputs.keyRing,
    catalogQuery: mysqlCatalogQuery({
      host: target.host,
      port: target.port,
      user: env.SMGATE_MYSQL_CATALOG_USER ?? "root",
      password: env.SMGATE_MYSQL_CATALOG_PASSWORD,
      ssl: target.tls
        ? {
            ca: target.tls.ca as string | Buffer | undefined,
            rejectUnauthorized: target.tls.rejectUnauthorized,
          }
        : undefined,
    }),
    metrics: opts.metrics,
    audit: inputs.audit,
    logger: opts.logger,
  });
  return withPolicyReload(enc, inputs, opts);
}
