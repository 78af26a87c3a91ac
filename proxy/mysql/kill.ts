// KILL mapping: clients only ever see connection ids smgate assigned (handshake + CONNECTION_ID() is the
// server's, see docs/PROTOCOL-MYSQL.md). `KILL [HARD|SOFT] [CONNECTION|QUERY] <id>` and COM_PROCESS_KILL are
// translated to the backend thread id of that gateway connection; ids that are not connections of this gateway
// are answered with ER_NO_SUCH_THREAD, forms we cannot map (KILL USER, KILL QUERY ID) are refused.

export interface ConnectionRegistry {
  /** Backend thread id of gateway connection `id`, or undefined when it is not one of ours (or not yet up). */
  backendThreadId(id: number): number | undefined;
}

export type KillParse =
  | { kind: "kill"; modifier: string; id: number }
  | { kind: "unsupported"; reason: string }
  | { kind: "not-kill" };

const KILL_RE = /^\s*KILL\s+(?:(HARD|SOFT)\s+)?(?:(CONNECTION|QUERY)\s+)?(\d{1,10})\s*;?\s*$/i;

export function parseKill(sql: string): KillParse {
  if (!/^\s*KILL\s/i.test(sql)) return { kind: "not-kill" };
  const m = KILL_RE.exec(sql);
  if (!m) {
    return {
      kind: "unsupported",
      reason: "smgate: only KILL [HARD|SOFT] [CONNECTION|QUERY] <connection id> is supported through the gateway",
    };
  }
  const parts = [m[1], m[2]].filter((p): p is string => p !== undefined).map((p) => p.toUpperCase());
  return { kind: "kill", modifier: parts.join(" "), id: Number(m[3]) };
}

export function buildKillSql(modifier: string, backendId: number): string {
  return modifier ? `KILL ${modifier} ${backendId}` : `KILL ${backendId}`;
}
