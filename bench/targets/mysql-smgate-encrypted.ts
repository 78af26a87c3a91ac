// Target "smgate-mysql-enc": smgate's MySQL listener with the encrypted scenarios' policy (RND + FPE columns)
// and their keystore. While `smgate start` refuses a MySQL listener under a protecting policy (no MySQL
// encryption wired into start yet), the target "starts" as a placeholder whose info.skipped says so, and the
// encrypted scenarios report that target as skipped instead of failing the run.
import { mysqlServer } from "../drivers/mysql-client.js";
import type { BenchContext, RunningTarget, TargetDefinition } from "../registry.js";
import { ensureMysqlEncKeystore, mysqlEncDatabase, mysqlEncPolicy } from "../scenarios/mysql-encrypted-data.js";
import { startSmgate } from "./smgate.js";

export const SMGATE_MYSQL_ENC = "smgate-mysql-enc";

export const NEEDS_MYSQL_ENCRYPTION =
  "needs MySQL encryption in smgate start (this build's `smgate start` refuses a mysql listener when the policy protects tables)";

/** The refusal of a build without MySQL encryption in `smgate start` (cli/start.ts). */
export function isMysqlEncryptionRefusal(message: string): boolean {
  return /mysql listener has no encryption layer/i.test(message);
}

export const smgateMysqlEncryptedTarget: TargetDefinition = {
  name: SMGATE_MYSQL_ENC,
  description: "smgate MySQL listener with an encryption policy (RND + FPE columns)",
  async start(ctx: BenchContext): Promise<RunningTarget> {
    const keystore = await ensureMysqlEncKeystore(ctx);
    try {
      return await startSmgate(ctx, {
        name: SMGATE_MYSQL_ENC,
        pg: false,
        mysql: { backend: mysqlServer(ctx) },
        policyYaml: mysqlEncPolicy(mysqlEncDatabase(ctx)),
        keystore,
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!isMysqlEncryptionRefusal(message)) throw err;
      ctx.log(`  ${SMGATE_MYSQL_ENC}: skipped — ${NEEDS_MYSQL_ENCRYPTION}`);
      return {
        name: SMGATE_MYSQL_ENC,
        host: "127.0.0.1",
        port: 0,
        info: { skipped: NEEDS_MYSQL_ENCRYPTION },
        async stop() {},
      };
    }
  },
};

/** The reason a started target cannot be measured (placeholder of a refused start), else undefined. */
export function skippedReason(target: RunningTarget): string | undefined {
  const s = target.info.skipped;
  return typeof s === "string" ? s : undefined;
}
