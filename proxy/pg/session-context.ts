// The state both halves of one PostgreSQL client session share: who is connected, server parameters,
// prepared statements (with a `plan` slot for the encryption layer), portals, and the pipeline queue of
// requests whose responses are still to come — so every backend response can be matched to the
// statement/portal that produced it.
import type { ErrorFields, FieldDescription } from "./backend-messages.js";

export interface PreparedStatement {
  name: string;
  /** SQL as the client sent it. */
  sql: string;
  /** SQL as sent to the server (differs when a hook rewrote it). */
  serverSql: string;
  paramTypes: number[];
  /** Filled by the server's ParameterDescription (after Describe S). */
  paramDescription?: number[];
  /** Filled by Describe S: the row shape (null = NoData). Formats are all 0 here. */
  rowDescription?: FieldDescription[] | null;
  /** Free slot for the encryption layer (column/parameter plan). */
  plan?: unknown;
}

export interface Portal {
  name: string;
  statement: PreparedStatement | undefined;
  paramFormats: number[];
  resultFormats: number[];
  /** Filled by Describe P (null = NoData). */
  rowDescription?: FieldDescription[] | null;
  /** Frontend sequence number of the Bind (portals die at the end of their transaction). */
  seq: number;
  plan?: unknown;
}

export type PendingKind =
  | "query"
  | "parse"
  | "bind"
  | "describe-statement"
  | "describe-portal"
  | "execute"
  | "close"
  | "sync"
  | "function"
  | "synthetic";

export interface PendingRequest {
  kind: PendingKind;
  seq: number;
  statement?: PreparedStatement;
  portal?: Portal;
  /** Simple query: SQL as the client sent it. */
  sql?: string;
  /** The row shape of the result being streamed for this request (query: the current statement's). */
  rowDescription?: FieldDescription[] | null;
  /** Responses to this request are consumed by smgate and not shown to the client. */
  hidden?: boolean;
  /** kind "synthetic": messages smgate sends to the client when this entry reaches the head of the queue. */
  synthetic?: Buffer[];
  /** Rollback information for optimistic statement/portal changes when the server rejects the request. */
  previous?: PreparedStatement | Portal;
  closeTarget?: "S" | "P";
  closeName?: string;
}

export type TransactionStatus = "I" | "T" | "E";

export class SessionContext {
  readonly id: number;
  readonly clientAddress: string;
  user = "";
  database = "";
  applicationName = "";
  clientTls = false;
  backendTls = false;
  /** Startup parameters sent by the client. */
  readonly startupParams = new Map<string, string>();
  /** ParameterStatus values reported by the server (server_version, client_encoding, ...). */
  readonly serverParams = new Map<string, string>();
  /** The real backend's process id (its key is kept by the cancel registry). */
  backendPid = 0;
  transactionStatus: TransactionStatus = "I";
  readonly statements = new Map<string, PreparedStatement>();
  readonly portals = new Map<string, Portal>();
  /** Requests sent to the server (or answered by smgate) whose responses are pending, oldest first. */
  readonly pipeline: PendingRequest[] = [];
  /** Free slot for the encryption layer's per-session state. */
  state?: unknown;
  private seqCounter = 0;

  constructor(id: number, clientAddress: string) {
    this.id = id;
    this.clientAddress = clientAddress;
  }

  nextSeq(): number {
    return ++this.seqCounter;
  }

  head(): PendingRequest | undefined {
    return this.pipeline[0];
  }

  /** Subject for access decisions (policy layer). */
  subject(): { user: string; app: string; address: string; database: string } {
    return { user: this.user, app: this.applicationName, address: this.clientAddress, database: this.database };
  }
}

/** What a frontend hook may answer: nothing (forward unchanged), a rewrite, or a refusal. */
export type HookRefusal = { error: ErrorFields };
