// Can the running gateway serve a (new) policy? Refuses, fail closed, what would let protected columns pass
// in plaintext: listeners that started without their encryption layers because the first policy protected
// nothing (open sessions cannot gain a layer; a restart builds them).
import type { CompiledPolicy } from "../../policy/compile.js";
import type { SmgateConfig } from "../../policy/config.js";

/** True when `smgate start` builds the encryption layers (PostgreSQL and MySQL) for this first policy. */
export function startsEncryption(first: CompiledPolicy): boolean {
  return first.protectedTables().size > 0;
}

export function policyNotServable(
  config: Pick<SmgateConfig, "pg" | "mysql">,
  encryption: boolean,
  next: CompiledPolicy,
  policyFile: string,
): string | undefined {
  if ((config.pg || config.mysql) && !encryption && next.protectedTables().size > 0) {
    return `${policyFile}:1:1: smgate started without its encryption layer (the policy protected no table); restart smgate to start protecting tables`;
  }
  return undefined;
}
