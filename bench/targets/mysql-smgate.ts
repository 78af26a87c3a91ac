// Target "smgate-mysql": smgate with only a MySQL listener in front of the run's MySQL/MariaDB server and an
// empty policy (pure passthrough relay); clients connect to its host/port (= endpoints.mysql).
import { mysqlServer } from "../drivers/mysql-client.js";
import type { TargetDefinition } from "../registry.js";
import { startSmgate } from "./smgate.js";

export const smgateMysqlTarget: TargetDefinition = {
  name: "smgate-mysql",
  description: "smgate MySQL listener in front of MariaDB, empty policy (passthrough)",
  start: (ctx) => startSmgate(ctx, { name: "smgate-mysql", pg: false, mysql: { backend: mysqlServer(ctx) } }),
};
