// Built-in scenarios and targets, registered on import. Feature benchmarks add theirs the same way:
// a module calling registerScenario / registerTarget, imported here.
import { pluginBenchScenarios } from "../plugins.js";
import { registerScenario, registerTarget } from "../registry.js";
import { directTarget } from "../targets/direct.js";
import { pgbouncerTarget } from "../targets/pgbouncer.js";
import { smgateTarget } from "../targets/smgate.js";
import { registerMysqlBenchmarks } from "./mysql-index.js";
import { encryptedBenchScenarios, encryptedTarget } from "./pg-encrypted.js";
import { builtinPgbenchScenarios } from "./pgbench.js";
import { builtinStreamScenarios } from "./stream.js";

let registered = false;

export function registerBuiltins(): void {
  if (registered) return;
  registered = true;
  for (const t of [directTarget, pgbouncerTarget, smgateTarget]) registerTarget(t);
  for (const s of [...builtinPgbenchScenarios, ...builtinStreamScenarios]) registerScenario(s);
  // Field-level encryption (issue 6): smgate with an encryption policy vs the plaintext tables directly.
  registerTarget(encryptedTarget);
  for (const s of encryptedBenchScenarios) registerScenario(s);
  // MySQL/MariaDB (issue 7): sysbench through the relay, encrypted SELECT/INSERT (bench/scenarios/mysql-index.ts).
  registerMysqlBenchmarks();
  // Opt-in (--only plugin-postgres / plugin-mariadb): plugin mode, owned by the plugins work (bench/plugins.ts).
  for (const s of pluginBenchScenarios()) registerScenario(s);
}
