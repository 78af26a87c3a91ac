// Observes PostgreSQL sessions for metrics and audit without changing them: wraps a HooksFactory (the
// encryption layer's) so every session counts connections, statements by kind and outcome, statement and
// result bytes, and records `login` / `login_failed` audit events. Only names, kinds and SQLSTATEs are
// recorded — never SQL text, parameters or row values. With no inner factory (transparent gateway) only
// the observing hooks are installed.
import type { AuditSink } from "../audit/writer.js";
import type { GatewayMetrics, StatementOutcome } from "./metrics.js";
import { type HooksFactory, isRefusal, type Refusal, type SessionHooks } from "./pg/hooks.js";
import type { PreparedStatement, SessionContext } from "./pg/session-context.js";
import { statementKind } from "./statement-kind.js";

export { statementKind };

function outcomeOf(r: unknown): StatementOutcome | undefined {
  if (!isRefusal(r)) return undefined;
  return (r as Refusal).error.C === "42501" ? "denied" : "refused";
}

export interface SessionObserverOptions {
  metrics?: GatewayMetrics;
  audit?: AuditSink;
}

/** Kinds of prepared statements (their SQL never changes; a new Parse makes a new statement object). */
const statementKinds = new WeakMap<PreparedStatement, string>();

/** statementKind of a prepared statement's SQL, computed once per statement ("" SQL when none). */
function kindOf(stmt: PreparedStatement | undefined): string {
  if (stmt === undefined) return statementKind("");
  let k = statementKinds.get(stmt);
  if (k === undefined) {
    k = statementKind(stmt.sql);
    statementKinds.set(stmt, k);
  }
  return k;
}

/** Wraps `inner` (may be undefined) with metric counting and login auditing. */
export function observeSessions(inner: HooksFactory | undefined, opts: SessionObserverOptions): HooksFactory {
  const { metrics, audit } = opts;
  // label objects are built once per (kind, outcome) / direction: every statement counts, on the hot path
  const countLabels = new Map<
    string,
    Map<StatementOutcome, { protocol: "pg"; kind: string; outcome: StatementOutcome }>
  >();
  const count = (kind: string, outcome: StatementOutcome) => {
    if (!metrics) return;
    let byOutcome = countLabels.get(kind);
    if (byOutcome === undefined) countLabels.set(kind, (byOutcome = new Map()));
    let labels = byOutcome.get(outcome);
    if (labels === undefined) byOutcome.set(outcome, (labels = { protocol: "pg", kind, outcome }));
    metrics.statements.inc(labels);
  };
  const byteLabels = {
    to_server: { protocol: "pg", direction: "to_server" },
    to_client: { protocol: "pg", direction: "to_client" },
  } as const;
  const bytes = (direction: "to_server" | "to_client", n: number) =>
    metrics?.statementBytes.inc(byteLabels[direction], n);
  return (ctx: SessionContext) => {
    const h = inner?.(ctx);
    let ready = false;
    const who = (c: SessionContext) => ({
      actor: c.user,
      app: c.applicationName || undefined,
      address: c.clientAddress,
      target: c.database,
    });
    const out: SessionHooks = {
      onSessionReady(c) {
        ready = true;
        metrics?.connections.inc({ protocol: "pg" });
        metrics?.connectionsTotal.inc({ protocol: "pg" });
        audit?.record({ type: "login", ...who(c), action: "connect", outcome: "ok" });
        h?.onSessionReady?.(c);
      },
      onSessionRefused(c, sqlstate) {
        audit?.record({ type: "login_failed", ...who(c), action: "connect", outcome: "denied", detail: sqlstate });
        h?.onSessionRefused?.(c, sqlstate);
      },
      onSessionEnd(c) {
        if (ready) metrics?.connections.dec({ protocol: "pg" });
        ready = false;
        h?.onSessionEnd?.(c);
      },
      onQuery(c, sql) {
        bytes("to_server", Buffer.byteLength(sql));
        const r = h?.onQuery?.(c, sql);
        count(statementKind(sql), outcomeOf(r) ?? "forwarded");
        return r;
      },
      onParse(c, stmt) {
        bytes("to_server", Buffer.byteLength(stmt.sql));
        const r = h?.onParse?.(c, stmt);
        const o = outcomeOf(r);
        if (o) count(statementKind(stmt.sql), o);
        return r;
      },
      onExecute(c, portal, maxRows) {
        const r = h?.onExecute?.(c, portal, maxRows);
        count(kindOf(portal?.statement), outcomeOf(r) ?? "forwarded");
        return r;
      },
    };
    if (h?.ready) out.ready = h.ready;
    if (h?.onBind) {
      const onBind = h.onBind.bind(h);
      out.onBind = (c, portal, params) => {
        const r = onBind(c, portal, params);
        const o = outcomeOf(r);
        if (o) count(kindOf(portal.statement), o);
        return r;
      };
    }
    if (h?.onParameterDescription) out.onParameterDescription = h.onParameterDescription.bind(h);
    if (h?.onRowDescription) out.onRowDescription = h.onRowDescription.bind(h);
    if (h?.onDataRows) {
      // only wrapped when the inner layer transforms rows: adding onDataRows changes how rows are batched
      const onDataRows = h.onDataRows.bind(h);
      out.onDataRows = (c, request, rows) => {
        const r = onDataRows(c, request, rows);
        const sent = Array.isArray(r) ? r : r === undefined ? rows : [];
        let n = 0;
        for (const row of sent) n += row.length;
        bytes("to_client", n);
        return r;
      };
    }
    return out;
  };
}
