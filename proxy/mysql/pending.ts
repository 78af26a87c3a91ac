// The queue of responses the backend half expects, one entry per client command that gets an answer, in order
// (clients may pipeline). Entries answered by smgate itself (refusals) carry their bytes and are written when
// they reach the head of the queue, so answers never overtake each other.
import type { PreparingStatement } from "./hooks.js";
import type { PreparedStatement } from "./session-context.js";

export type ResponseKind =
  | "resultset" // COM_QUERY, COM_PROCESS_INFO: OK | ERR | LOCAL INFILE | resultset(s)
  | "binary-resultset" // COM_STMT_EXECUTE
  | "prepare" // COM_STMT_PREPARE
  | "fetch" // COM_STMT_FETCH: binary rows until EOF / ERR
  | "field-list" // COM_FIELD_LIST: column definitions until EOF / ERR
  | "single" // one packet: OK / ERR / EOF (PING, INIT_DB, RESET_CONNECTION, STMT_RESET, SET_OPTION, DEBUG, …)
  | "raw-single" // one packet without a header convention (COM_STATISTICS)
  | "change-user" // authentication exchange until OK / ERR
  | "local"; // answered by smgate: `local` holds the framed bytes

export interface PendingResponse {
  kind: ResponseKind;
  /** Added to server sequence ids to get the ids the client expects. */
  seqDelta: number;
  /** Command byte (for logs / metrics). */
  command: number;
  sql?: string;
  originalSql?: string;
  plan?: unknown;
  stmt?: PreparedStatement;
  /** COM_INIT_DB: the database that becomes current on OK. */
  database?: string;
  /** COM_RESET_CONNECTION / COM_CHANGE_USER: drop statement state on OK. */
  resetsSession?: boolean;
  local?: Buffer;
  /** COM_STMT_PREPARE: the statement (with the hook's plan) until the server assigns its id. */
  preparing?: PreparingStatement;
  /** 0 for the first resultset of the command, then 1, 2, … (SERVER_MORE_RESULTS_EXISTS). */
  resultIndex: number;
  /** performance.now() when the command was forwarded (only with metrics). */
  startedAt?: number;
}

/** A new entry with every field present (one object shape for the per-command path; no spreads). */
export function pendingResponse(kind: ResponseKind, command: number): PendingResponse {
  return {
    kind,
    command,
    seqDelta: 0,
    resultIndex: 0,
    sql: undefined,
    originalSql: undefined,
    plan: undefined,
    stmt: undefined,
    database: undefined,
    resetsSession: undefined,
    local: undefined,
    preparing: undefined,
    startedAt: undefined,
  };
}
