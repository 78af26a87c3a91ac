// The plug-in point of the encryption layer for the MySQL gateway (same style as proxy/pg/hooks.ts): a session
// created without hooks forwards raw bytes only. Hooks are synchronous and run in command order; returning
// undefined means "unchanged"; a refusal ({ error }) is answered by smgate with an ERR packet in pipeline order
// and the command never reaches the server.
import type { ColumnDefinition } from "./column-definition.js";
import type { ErrSpec } from "./constants.js";
import type { PendingResponse } from "./pending.js";
import type { MysqlSessionContext, ParamType, PreparedStatement } from "./session-context.js";

/** An ERR packet for the client (e.g. 1142/1143 denials, 1235 unsupported use of an encrypted column). */
export interface ErrorFields extends ErrSpec {
  message: string;
}

export type Refusal = { error: ErrorFields };

/**
 * Parameters of one COM_STMT_EXECUTE in "text form" (each value as the text protocol would carry it; strings and
 * blobs as their bytes; null for SQL NULL; undefined for parameters sent with COM_STMT_SEND_LONG_DATA).
 */
export interface ExecuteParams {
  types: ParamType[];
  values: (Buffer | null | undefined)[];
}

/** A statement being prepared: its id is known once the server answers; `plan` is carried over to it. */
export interface PreparingStatement {
  sql: string;
  plan?: unknown;
}

/** A batch of rows of one resultset, values in text form (binary-protocol values are converted both ways). */
export interface RowBatch {
  readonly size: number;
  readonly columnCount: number;
  get(row: number, col: number): Buffer | null;
  set(row: number, col: number, value: Buffer | null): void;
}

export interface ColumnView {
  /** Definitions shown to the client, one per server column (e.g. the plaintext type of a decrypted column). */
  columns: ColumnDefinition[];
  /**
   * Server columns removed from the client's view and from every row (companion columns of a rewrite). In a
   * parameter view (COM_STMT_PREPARE answer, `params` true): parameters the rewrite added, which the client
   * does not bind (onExecute then returns the server's full parameter list).
   */
  hide?: number[];
}

export interface MysqlSessionHooks {
  /** COM_QUERY text (KILL statements are mapped by smgate and never shown here). Rewrite with { sql }. */
  onQuery?(ctx: MysqlSessionContext, request: PendingResponse, sql: string): undefined | { sql: string } | Refusal;
  /** COM_STMT_PREPARE; set `stmt.plan` to keep a plan with the statement. Rewrite with { sql }. */
  onPrepare?(ctx: MysqlSessionContext, stmt: PreparingStatement): undefined | { sql: string } | Refusal;
  /** COM_STMT_EXECUTE with its parameters; replace them with { params } (types may change, e.g. to BLOB). */
  onExecute?(
    ctx: MysqlSessionContext,
    stmt: PreparedStatement,
    params: ExecuteParams,
  ): undefined | { params: ExecuteParams } | Refusal;
  /**
   * Column definitions of a resultset (text or binary), or of a COM_STMT_PREPARE answer (request.kind "prepare",
   * `params` false) and its parameters (`params` true). Returning a view claims the resultset: its rows are then
   * passed to onRows in batches; returning undefined forwards everything raw.
   */
  onColumnDefinitions?(
    ctx: MysqlSessionContext,
    request: PendingResponse,
    columns: ColumnDefinition[],
    params: boolean,
  ): ColumnView | undefined;
  /** A batch of rows of a claimed resultset; change values in place, or return a refusal to end the statement. */
  onRows?(ctx: MysqlSessionContext, request: PendingResponse, rows: RowBatch): undefined | Refusal;
  /**
   * Awaited once after authentication, before the first command is read (e.g. loading the database's catalog);
   * commands arriving meanwhile are buffered. A rejection is logged and ignored (hooks must then fail closed).
   */
  ready?: Promise<unknown>;
  /** The session ended (release per-session state). */
  onSessionEnd?(ctx: MysqlSessionContext): void;
}

/**
 * Creates the hooks of one session once it is authenticated (user, app, database and attributes known).
 * `onSessionRefused`, when present, is told of a connection whose initial authentication failed (the server's
 * ERR, or smgate's own refusal, already sent to the client); no session hooks are created for it.
 */
export type MysqlHooksFactory = ((ctx: MysqlSessionContext) => MysqlSessionHooks | undefined) & {
  onSessionRefused?(ctx: MysqlSessionContext, errno: number): void;
};

export function isRefusal(v: unknown): v is Refusal {
  return typeof v === "object" && v !== null && "error" in v;
}
