// Can the running gateway serve a (new) policy? Refuses, fail closed, what would let protected columns pass
// in plaintext: a MySQL listener without encryption (mysql-encryption-slot.ts), or a PostgreSQL listener that
// started without its encryption layer because the first policy protected nothing (sessions cannot gain it).
import type { CompiledPolicy } from "../../policy/compile.js";
import type { SmgateConfig } from "../../policy/config.js";
import { mysqlRefusesPolicy } from "./mysql-encryption-slot.js";

/** True when `smgate start` builds the PostgreSQL encryption layer for this first policy. */
export function startsPgEncryption(config: Pick<SmgateConfig, "pg">, first: CompiledPolicy): boolean {
  return config.pg !== undefined && first.protectedTables().size > 0;
}

export function policyNotServable(
  config: Pick<SmgateConfig, "pg" | "mysql">,
  configFile: string,
  pgEncryption: boolean,
  next: CompiledPolicy,
  policyFile: string,
): string | undefined {
  const mysql = mysqlRefusesPolicy(config, next, configFile);
  if (mysql) return mysql;
  if (config.pg && !pgEncryption && next.protectedTables().size > 0) {
    return `${policyFile}:1:1: smgate started without the PostgreSQL encryption layer (the policy protected no table); restart smgate to start protecting tables`;
  }
  return undefined;
}
