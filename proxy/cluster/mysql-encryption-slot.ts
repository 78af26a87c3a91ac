// THE single place where MySQL field encryption joins `smgate start`. Today the MySQL listener runs without
// an encryption layer, so a policy that protects any table is refused for it (fail closed: a transparent MySQL
// listener would pass protected columns through in plaintext), at start and at every reload.
// To wire MySQL encryption (proxy/mysql/encrypt/from-config.ts, `mysqlEncryptionFromConfig`, which already
// takes the `policy` and `audit` options used here):
//   1. `mysqlHooksFromConfig`: `const enc = await mysqlEncryptionFromConfig(config, opts); return enc?.hooks;`
//      and hand `enc.close` to the worker runtime's shutdown (worker-runtime.ts calls this function once);
//   2. `mysqlRefusesPolicy`: refuse only when the listener started WITHOUT its layer (first policy protected
//      nothing) and the new policy protects tables — the same rule servable.ts applies to PostgreSQL;
//   3. test/ops/start-runs-mysql-listener-and-fails-closed.test.ts then changes from "refuses" to "encrypts".
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
