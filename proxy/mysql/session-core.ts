// What the frontend and backend halves of one MySQL session need from the connection that owns them: the
// shared context, the session's hooks, the pending-response queue, socket writers with backpressure, and the
// authentication relay used by COM_CHANGE_USER.
import type { Logger } from "pino";
import type { MysqlSessionHooks } from "./hooks.js";
import type { ConnectionRegistry } from "./kill.js";
import type { PendingResponse } from "./pending.js";
import type { MysqlSessionContext } from "./session-context.js";

export interface SessionCore {
  readonly ctx: MysqlSessionContext;
  readonly hooks: MysqlSessionHooks | undefined;
  /** Responses still to come from the server (or answers of smgate itself), in client command order. */
  readonly pending: PendingResponse[];
  readonly log: Logger;
  readonly registry: ConnectionRegistry;
  readonly allowLocalInfile: boolean;
  readonly allowMultiStatements: boolean;
  /** Set when metrics are enabled: records how long the server took to answer a command. */
  readonly observeBackendSeconds: ((seconds: number) => void) | undefined;
  writeClient(bytes: Buffer): void;
  writeServer(bytes: Buffer): void;
  /** The server asked for a LOCAL INFILE and it is allowed: client packets are file data until an empty one. */
  startInfileRelay(): void;
  /** COM_CHANGE_USER: the client's command was sent; start relaying its authentication exchange. */
  startChangeUser(plugin: string, clientSeq: number): boolean;
  authFromServer(payload: Buffer, seq: number): void;
  authFromClient(payload: Buffer, seq: number): void;
  readonly authInProgress: boolean;
  /** An ERR for the client answered in command order (immediately when nothing is outstanding). */
  answerLocally(payload: Buffer, seq: number, command: number): void;
  /** The backend finished a response (graceful shutdown closes idle sessions then). */
  responseFinished(): void;
  /** True once a graceful shutdown asked this session to close when idle (responseFinished matters then). */
  readonly draining: boolean;
  /** COM_QUIT seen: close after forwarding. */
  quit(): void;
}
