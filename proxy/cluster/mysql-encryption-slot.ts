// THE single place where MySQL field encryption joins `smgate start`. Today the MySQL listener has no
// encryption layer, so a policy that protects any table is refused for it (fail closed: a transparent MySQL
// listener would pass protected columns through in plaintext), at start and at every reload.
// To wire MySQL encryption (proxy/mysql/encrypt, `mysqlEncryptionFromConfig`): build it in
// `mysqlHooksFromConfig` from the shared PolicyHolder (so reloads reach it) and make
// `mysqlRefusesPolicy` return undefined when that layer is present.
import type { AuditSink } from "../../audit/writer.js";
import type { CompiledPolicy } from "../../policy/compile.js";
import type { SmgateConfig } from "../../policy/config.js";
import type { PolicyHolder } from "../../policy/holder.js";
import type { Logger } from "../log.js";
import type { GatewayMetrics } from "../metrics.js";
import type { MysqlHooksFactory } from "../mysql/index.js";

/** Why the MySQL listener cannot serve this policy, or undefined when it can. */
export function mysqlRefusesPolicy(
  config: Pick<SmgateConfig, "mysql">,
  policy: CompiledPolicy,
  configFile: string,
): string | undefined {
  if (!config.mysql || policy.protectedTables().size === 0) return undefined;
  return (
    `${configFile}: the mysql listener has no encryption layer in this build, and the policy protects tables; ` +
    "remove the mysql section (or run it without a protecting policy) until MySQL field encryption is available"
  );
}

/** The MySQL encryption hooks for a worker (none in this build: the listener is a transparent relay). */
export async function mysqlHooksFromConfig(
  _config: SmgateConfig,
  _opts: { policy: PolicyHolder; logger: Logger; metrics?: GatewayMetrics; audit?: AuditSink },
): Promise<MysqlHooksFactory | undefined> {
  return undefined;
}
