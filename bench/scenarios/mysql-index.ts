// MySQL/MariaDB benchmarks (issue 7): targets mysql-direct, mysql-tcp-relay, smgate-mysql, smgate-mysql-enc and the sysbench and
// encrypted scenarios, registered by one call from bench/scenarios/index.ts.
import { registerScenario, registerTarget } from "../registry.js";
import { mysqlDirectTarget } from "../targets/mysql-direct.js";
import { smgateMysqlTarget } from "../targets/mysql-smgate.js";
import { smgateMysqlEncryptedTarget } from "../targets/mysql-smgate-encrypted.js";
import { mysqlTcpRelayTarget } from "../targets/mysql-tcp-relay.js";
import { mysqlEncryptedScenarios } from "./mysql-encrypted.js";
import { sysbenchScenarios } from "./sysbench.js";

export function registerMysqlBenchmarks(): void {
  for (const t of [mysqlDirectTarget, mysqlTcpRelayTarget, smgateMysqlTarget, smgateMysqlEncryptedTarget]) {
    registerTarget(t);
  }
  for (const s of [...sysbenchScenarios, ...mysqlEncryptedScenarios]) registerScenario(s);
}
