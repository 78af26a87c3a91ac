// The shared session context of one client connection: who is connected (user, app = program_name connection
// attribute, database, address, attributes), the negotiated capabilities and TLS state of both legs, the id
// mapping for KILL, and the prepared statements with their parameter types and column definitions. The frontend
// half, the backend half and the rewrite hooks all read and update this one object.

import type { ColumnDefinition } from "./column-definition.js";
import { Cap, MARIADB_EXTENDED_METADATA } from "./constants.js";

export interface ParamType {
  type: number;
  unsigned: boolean;
}

export interface PreparedStatement {
  /** Server statement id (COM_STMT_* address statements by it). */
  id: number;
  /** SQL text as sent to the server (after any rewrite). */
  sql: string;
  /** SQL text as the client sent it. */
  originalSql: string;
  paramCount: number;
  params: ColumnDefinition[];
  columns: ColumnDefinition[];
  /** Types bound by the last COM_STMT_EXECUTE with new-params-bound = 1 (reused when the flag is 0). */
  paramTypes: ParamType[] | undefined;
  /** Parameters that received COM_STMT_SEND_LONG_DATA since the last execute / reset. */
  longData: Set<number>;
  /** Whatever the rewrite engine attached at prepare time (its plan). */
  plan?: unknown;
}

export class MysqlSessionContext {
  user = "";
  database: string | undefined;
  /** The policy's "app": the program_name connection attribute, when the client sent one. */
  app: string | undefined;
  connectAttributes = new Map<string, string>();
  authPlugin = "";
  /** Negotiated capabilities (what the client asked for, within what smgate advertised). */
  capabilities = 0;
  /** Negotiated MariaDB extended capabilities (only MARIADB_CLIENT_EXTENDED_METADATA is ever let through). */
  mariadbExtCaps = 0;
  charset = 0;
  serverVersion = "";
  clientTls = false;
  /** Subject CN of the verified client certificate (when the listener requires client certificates). */
  clientCertificateCN: string | undefined;
  backendTls = false;
  /** Thread id the backend server gave this connection (what KILL must name on the server). */
  backendThreadId = 0;
  /** Server status flags of the last OK / EOF seen (SERVER_STATUS_IN_TRANS tells whether a transaction is open). */
  serverStatus = 0;
  readonly statements = new Map<number, PreparedStatement>();
  /** Free slot for the rewrite engine's per-session state. */
  rewriteState: unknown;

  constructor(
    /** Connection id smgate gave the client in its handshake. */
    readonly connectionId: number,
    readonly clientAddress: string | undefined,
  ) {}

  get deprecateEof(): boolean {
    return (this.capabilities & Cap.DEPRECATE_EOF) !== 0;
  }

  get extendedMetadata(): boolean {
    return (this.mariadbExtCaps & MARIADB_EXTENDED_METADATA) !== 0;
  }

  get queryAttributes(): boolean {
    return (this.capabilities & Cap.QUERY_ATTRIBUTES) !== 0;
  }

  setAttributes(attrs: Map<string, string>): void {
    this.connectAttributes = attrs;
    this.app = attrs.get("program_name");
  }

  /** Policy subject for access decisions. */
  subject(): { user: string; app?: string; address?: string; database?: string } {
    return { user: this.user, app: this.app, address: this.clientAddress, database: this.database };
  }
}
