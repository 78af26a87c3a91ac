// The plug-in point of the encryption layer. A session created without hooks forwards raw bytes only.
// All hooks are synchronous and run in message order. Returning undefined means "unchanged".
// A refusal ({ error }) is answered by smgate in pipeline order: for a simple Query with ErrorResponse +
// ReadyForQuery; for Parse/Bind/Describe/Execute with ErrorResponse, after which the client's messages up to
// Sync are discarded (as the server itself does after an error) and the Sync is answered by the server.
import type { ErrorFields, FieldDescription } from "./backend-messages.js";
import type { PendingRequest, Portal, PreparedStatement, SessionContext } from "./session-context.js";

export type Refusal = { error: ErrorFields };

export interface SessionHooks {
  /** A simple-protocol Query. Rewrite by returning { sql }. */
  onQuery?(ctx: SessionContext, sql: string): undefined | { sql: string } | Refusal;
  /** A Parse; the statement is already registered in ctx.statements (set stmt.plan here). */
  onParse?(ctx: SessionContext, stmt: PreparedStatement): undefined | { sql?: string; paramTypes?: number[] } | Refusal;
  /** A Bind; params are views into the client's message (copy what you keep). */
  onBind?(
    ctx: SessionContext,
    portal: Portal,
    params: (Buffer | null)[],
  ):
    | undefined
    | {
        params: (Buffer | null)[];
        paramFormats?: number[];
        /** Result format codes to send to the server instead of the client's (e.g. text for columns smgate converts). */
        resultFormats?: number[];
      }
    | Refusal;
  /** An Execute of a portal. */
  onExecute?(ctx: SessionContext, portal: Portal | undefined, maxRows: number): undefined | Refusal;
  /** The server's ParameterDescription for a statement; return the types the client should see. */
  onParameterDescription?(
    ctx: SessionContext,
    stmt: PreparedStatement | undefined,
    types: number[],
  ): number[] | undefined;
  /** The server's RowDescription for a request; return the fields the client should see. */
  onRowDescription?(
    ctx: SessionContext,
    request: PendingRequest | undefined,
    fields: FieldDescription[],
  ): FieldDescription[] | undefined;
  /**
   * A batch of consecutive DataRow messages (raw, header included; views valid only during the call) of the
   * result of `request` (request.rowDescription / request.portal?.rowDescription give the shape).
   * Return the DataRow messages to send instead, or a refusal to abort the result: smgate sends the
   * ErrorResponse and drops every further server message up to (not including) the next ReadyForQuery
   * (the rest of the rows, CommandComplete, responses to later messages of the same pipeline batch).
   */
  onDataRows?(ctx: SessionContext, request: PendingRequest | undefined, rows: Buffer[]): Buffer[] | Refusal | undefined;
  /**
   * Awaited once by the session after the startup packet and before it connects to the server (e.g. loading
   * the database's catalog); a rejection is logged and ignored (hooks must then fail closed themselves).
   */
  ready?: Promise<unknown>;
  /** The server authenticated the session and it is ready for its first statement (once per session). */
  onSessionReady?(ctx: SessionContext): void;
  /** The server refused the session during startup/authentication (its SQLSTATE, e.g. 28P01). */
  onSessionRefused?(ctx: SessionContext, sqlstate: string): void;
  /** The session ended (release per-session state). */
  onSessionEnd?(ctx: SessionContext): void;
}

/** Creates the hooks of one session once its user/database are known (after authentication). */
export type HooksFactory = (ctx: SessionContext) => SessionHooks | undefined;

export function isRefusal(v: unknown): v is Refusal {
  return typeof v === "object" && v !== null && "error" in v;
}
