// The session observer (proxy/metrics-hooks.ts) alone: statement kinds come from a fixed list (never from the
// statement's text), refusals by the inner layer are counted as refused/denied and passed through unchanged,
// login / login_failed audit events carry user, app, address and database only, and the open-connection gauge
// returns to zero when sessions end.
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../../audit/record.js";
import { GatewayMetrics } from "../../proxy/metrics.js";
import { observeSessions, statementKind } from "../../proxy/metrics-hooks.js";
import type { SessionHooks } from "../../proxy/pg/hooks.js";
import { SessionContext } from "../../proxy/pg/session-context.js";

function ctx(): SessionContext {
  const c = new SessionContext(1, "10.0.0.9:5555");
  c.user = "alice";
  c.database = "clinic";
  c.applicationName = "his";
  return c;
}

async function value(m: GatewayMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const j = await m.registry.getMetricsAsJSON();
  const metric = j.find((x) => x.name === name);
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((a, v) => a + v.value, 0);
}

describe("session observer", () => {
  it("labels statements with a fixed kind list", () => {
    expect(statementKind("SELECT 1")).toBe("select");
    expect(statementKind("  /* c */ -- x\n insert into t values (1)")).toBe("insert");
    expect(statementKind("(select 1)")).toBe("select");
    expect(statementKind("13800000001")).toBe("other");
    expect(statementKind("secretword from t")).toBe("other");
    expect(statementKind("")).toBe("empty");
  });

  it("counts statements, passes refusals through, audits logins without values", async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const audit: AuditEvent[] = [];
    const denied = { error: { S: "ERROR", C: "42501", M: "permission denied" } };
    const inner: SessionHooks = {
      onQuery: (_c, sql) => (sql.includes("phone") ? denied : undefined),
    };
    const factory = observeSessions(() => inner, { metrics, audit: { record: (e) => audit.push(e) } });
    const c = ctx();
    const h = factory(c) as SessionHooks;
    h.onSessionReady?.(c);
    expect(await value(metrics, "smgate_client_connections", { protocol: "pg" })).toBe(1);
    expect(h.onQuery?.(c, "SELECT note FROM t WHERE id = 13800000001")).toBeUndefined();
    expect(h.onQuery?.(c, "SELECT phone FROM t")).toBe(denied);
    expect(await value(metrics, "smgate_statements_total", { kind: "select", outcome: "forwarded" })).toBe(1);
    expect(await value(metrics, "smgate_statements_total", { kind: "select", outcome: "denied" })).toBe(1);
    expect(await value(metrics, "smgate_statement_bytes_total", { direction: "to_server" })).toBe(
      Buffer.byteLength("SELECT note FROM t WHERE id = 13800000001") + Buffer.byteLength("SELECT phone FROM t"),
    );
    h.onSessionEnd?.(c);
    expect(await value(metrics, "smgate_client_connections", { protocol: "pg" })).toBe(0);
    expect(await value(metrics, "smgate_client_connections_total", { protocol: "pg" })).toBe(1);

    const c2 = ctx();
    const h2 = factory(c2) as SessionHooks;
    h2.onSessionRefused?.(c2, "28P01");
    h2.onSessionEnd?.(c2);
    expect(await value(metrics, "smgate_client_connections", { protocol: "pg" })).toBe(0);
    expect(audit).toEqual([
      {
        type: "login",
        actor: "alice",
        app: "his",
        address: "10.0.0.9:5555",
        target: "clinic",
        action: "connect",
        outcome: "ok",
      },
      {
        type: "login_failed",
        actor: "alice",
        app: "his",
        address: "10.0.0.9:5555",
        target: "clinic",
        action: "connect",
        outcome: "denied",
        detail: "28P01",
      },
    ]);
    const text = (await metrics.render()).body;
    expect(text).not.toContain("13800000001");
    expect(text).not.toContain("phone");
  });

  it("keeps the inner layer's optional hooks absent when it has none", () => {
    const h = observeSessions(() => ({}), {})(ctx()) as SessionHooks;
    expect(h.onDataRows).toBeUndefined();
    expect(h.onBind).toBeUndefined();
    expect(h.ready).toBeUndefined();
  });
});
