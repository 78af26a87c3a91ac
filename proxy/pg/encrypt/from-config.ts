// Builds the PostgreSQL encryption layer from smgate.yaml for `smgate start`: the shared layer inputs
// (policy, keystore, audit log: encrypt/layer-config.ts) and the catalog loader connected to the configured
// backend (user SMGATE_CATALOG_USER, default "postgres"; password SMGATE_CATALOG_PASSWORD). Returns undefined
// when the policy protects nothing (the gateway then stays a transparent proxy).
import type { SmgateConfig } from "../../../policy/config.js";
import {
  type ConfiguredLayer,
  type LayerConfigOptions,
  openLayerInputs,
  withPolicyReload,
} from "../../encrypt/layer-config.js";
import { backendTarget } from "../../server.js";
import { pgCatalogQuery } from "./catalog-source.js";
import { createPgEncryption, type PgEncryption } from "./index.js";

export type ConfiguredPgEncryption = PgEncryption & ConfiguredLayer;

export async function pgEncryptionFromConfig(
  config: SmgateConfig,
  opts: LayerConfigOptions,
): Promise<ConfiguredPgEncryption | undefined> {
  if (!config.pg) return undefined;
  const inputs = await openLayerInputs(config, opts, "PostgreSQL");
  if (!inputs) return undefined;
  const { env } = inputs;
  const target = backendTarget(config.pg);
  const enc = await createPgEncryption({
    policy: inputs.policy,
    keyRing: inputs.keyRing,
    catalogQuery: pgCatalogQuery({
      host: target.host,
      port: target.port,
      user: env.SMGATE_CATALOG_USER ?? "postgres",
      password: env.SMGATE_CATALOG_PASSWORD,
      ssl: target.tls ?? false,
    }),
    preload: env.SMGATE_CATALOG_DATABASES?.split(",").filter(Boolean),
    metrics: opts.metrics,
    audit: inputs.audit,
    logger: opts.logger,
  });
  return withPolicyReload(enc, inputs, opts);
}
