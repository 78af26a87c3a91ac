#!/usr/bin/env node
// The `smgate` command: one commander program; each command group lives in its own module under cli/
// and registers itself here.
import { Command } from "commander";
import { registerAuditCommands } from "./audit.js";
import { registerDemoCommand } from "./demo.js";
import { registerDiscoverCommand } from "./discover.js";
import { registerKeysCommands } from "./keys.js";
import { registerMigrateCommand } from "./migrate.js";
import { registerPluginCommands } from "./plugin.js";
import { registerPolicyCommands } from "./policy.js";
import { registerReportCommands } from "./report.js";
import { registerStartCommand } from "./start.js";
import { readPackageVersion } from "./version.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("smgate")
    .description("Transparent SM4/SM3 field-level encryption gateway for PostgreSQL and MySQL/MariaDB")
    .version(readPackageVersion())
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  // command groups register here (one line each)
  registerKeysCommands(program);
  registerAuditCommands(program);
  registerPolicyCommands(program);
  registerReportCommands(program);
  registerDiscoverCommand(program);
  registerStartCommand(program);
  registerDemoCommand(program);
  registerPluginCommands(program);
  registerMigrateCommand(program);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`smgate: ${msg}\n`);
    process.exitCode = 1;
  });
