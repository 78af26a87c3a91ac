// Observes PostgreSQL sessions for metrics and audit without changing them: wraps a HooksFactory (the
// encryption layer's) so every session counts connections, statements by kind and outcome, statement and
// result bytes, and records `login` / `login_failed` audit events. Only names, kinds and SQLSTATEs are
// recorded — never SQL text, parameters or row values. With no inner factory (transparent gateway) only
// the observing hooks are installed.
import type { AuditSink } from "../audit/writer.js";
import type { GatewayMetrics, StatementOutcome } from "./metrics.js";
import { type HooksFactory, isRefusal, type Refusal, type SessionHooks } from "./pg/hooks.js";
import type { SessionContext } from "./pg/session-context.js";
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

/** Wraps `inner` (may be undefined) with metric counting and login auditing. */
export function observeSessions(inner: HooksFactory | undefined, opts: SessionObserverOptions): HooksFactory {
  const { metrics, audit } = opts;
  const count = (kind: string, outcome: StatementOutcome) => metrics?.statements.inc({ protocol: "pg", kind, outcome });
  const bytes = (direction: "to_server" | "to_client", n: number) =>
    metrics?.statementBytes.inc({ protocol: "pg", direction }, n);
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
        count(statementKind(portal?.statement?.sql ?? ""), outcomeOf(r) ?? "forwarded");
        return r;
      },
    };
    if (h?.ready) out.ready = h.ready;
    if (h?.onBind) {
      const onBind = h.onBind.bind(h);
      out.onBind = (c, portal, params) => {
        const r = onBind(c, portal, params);
        const o = outcomeOf(r);
        if (o) count(statementKind(portal.statement?.sql ?? ""), o);
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
