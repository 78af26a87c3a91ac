// Observes MySQL sessions for metrics and audit without changing them (the MySQL twin of metrics-hooks.ts):
// wraps a MysqlHooksFactory (the MySQL encryption layer's) so every authenticated session records a `login`
// audit event, every failed initial authentication a `login_failed` one, and COM_QUERY / COM_STMT_EXECUTE
// statements are counted by kind and outcome with the bytes of their statement text. Only names, kinds and
// error numbers are recorded — never SQL text, parameters or row values. Connections are counted by the MySQL
// gateway itself. Row hooks (onColumnDefinitions / onRows) are only passed on when the inner layer has them:
// adding them would make the gateway claim resultsets it now relays raw.
import type { AuditSink } from "../audit/writer.js";
import type { GatewayMetrics, StatementOutcome } from "./metrics.js";
import { Err } from "./mysql/constants.js";
import { isRefusal, type MysqlHooksFactory, type MysqlSessionHooks } from "./mysql/hooks.js";
import type { MysqlSessionContext, PreparedStatement } from "./mysql/session-context.js";
import { statementKind } from "./statement-kind.js";

export interface MysqlSessionObserverOptions {
  metrics?: GatewayMetrics;
  audit?: AuditSink;
}

const DENIAL_CODES = new Set<number>([Err.TABLE_ACCESS_DENIED.code, Err.COLUMN_ACCESS_DENIED.code]);

/** refused/denied for a refusal by the inner layer (ERR 1142/1143 are access-policy denials), else undefined. */
function outcomeOf(r: unknown): StatementOutcome | undefined {
  if (!isRefusal(r)) return undefined;
  return DENIAL_CODES.has(r.error.code) ? "denied" : "refused";
}

function who(c: MysqlSessionContext) {
  return { actor: c.user, app: c.app || undefined, address: c.clientAddress, target: c.database };
}

/** Kinds of prepared statements (their SQL never changes; a new COM_STMT_PREPARE makes a new object). */
const statementKinds = new WeakMap<PreparedStatement, string>();

/** statementKind of a prepared statement's original SQL, computed once per statement. */
function kindOf(stmt: PreparedStatement): string {
  let k = statementKinds.get(stmt);
  if (k === undefined) {
    k = statementKind(stmt.originalSql);
    statementKinds.set(stmt, k);
  }
  return k;
}

/** Wraps `inner` (may be undefined) with statement counting and login auditing. */
export function observeMysqlSessions(
  inner: MysqlHooksFactory | undefined,
  opts: MysqlSessionObserverOptions,
): MysqlHooksFactory {
  const { metrics, audit } = opts;
  // label objects are built once per (kind, outcome): every statement counts, on the hot path
  const countLabels = new Map<
    string,
    Map<StatementOutcome, { protocol: "mysql"; kind: string; outcome: StatementOutcome }>
  >();
  const count = (kind: string, outcome: StatementOutcome) => {
    if (!metrics) return;
    let byOutcome = countLabels.get(kind);
    if (byOutcome === undefined) countLabels.set(kind, (byOutcome = new Map()));
    let labels = byOutcome.get(outcome);
    if (labels === undefined) byOutcome.set(outcome, (labels = { protocol: "mysql", kind, outcome }));
    metrics.statements.inc(labels);
  };
  const byteLabels = { protocol: "mysql", direction: "to_server" } as const;
  const bytes = (sql: string) => metrics?.statementBytes.inc(byteLabels, Buffer.byteLength(sql));

  const factory: MysqlHooksFactory = (ctx: MysqlSessionContext) => {
    const h = inner?.(ctx);
    audit?.record({ type: "login", ...who(ctx), action: "connect", outcome: "ok" });
    const out: MysqlSessionHooks = {
      onQuery(c, request, sql) {
        bytes(sql);
        const r = h?.onQuery?.(c, request, sql);
        count(statementKind(sql), outcomeOf(r) ?? "forwarded");
        return r;
      },
      onExecute(c, stmt, params) {
        const r = h?.onExecute?.(c, stmt, params);
        count(kindOf(stmt), outcomeOf(r) ?? "forwarded");
        return r;
      },
      onPrepare(c, stmt) {
        bytes(stmt.sql);
        const r = h?.onPrepare?.(c, stmt);
        const o = outcomeOf(r);
        if (o) count(statementKind(stmt.sql), o);
        return r;
      },
    };
    if (h?.ready) out.ready = h.ready;
    if (h?.onColumnDefinitions) out.onColumnDefinitions = h.onColumnDefinitions.bind(h);
    if (h?.onRows) out.onRows = h.onRows.bind(h);
    if (h?.onSessionEnd) out.onSessionEnd = h.onSessionEnd.bind(h);
    return out;
  };
  factory.onSessionRefused = (c, errno) => {
    audit?.record({
      type: "login_failed",
      ...who(c),
      action: "connect",
      outcome: "denied",
      detail: String(errno),
    });
    inner?.onSessionRefused?.(c, errno);
  };
  return factory;
}
