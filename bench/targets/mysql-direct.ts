// Target "mysql-direct": the MySQL/MariaDB server itself, nothing in between (the baseline of the MySQL
// scenarios). Its MySQL endpoint is the target's host/port and endpoints.mysql.
import { mysqlQuery, mysqlServer } from "../drivers/mysql-client.js";
import type { BenchContext, RunningTarget, TargetDefinition } from "../registry.js";

export const mysqlDirectTarget: TargetDefinition = {
  name: "mysql-direct",
  description: "MySQL/MariaDB server, no proxy",
  async start(ctx: BenchContext): Promise<RunningTarget> {
    const ep = mysqlServer(ctx);
    const [row] = await mysqlQuery<{ v: string }>(ep, "SELECT VERSION() AS v");
    return {
      name: "mysql-direct",
      host: ep.host,
      port: ep.port,
      endpoints: { mysql: { host: ep.host, port: ep.port } },
      info: { server: `MySQL/MariaDB ${row?.v ?? "?"}` },
      async stop() {},
    };
  },
};
