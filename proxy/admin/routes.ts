// The admin API's routes and the role each requires: operator (status, reload, metrics), admin (policy,
// keys), auditor (audit read/verify), application (HMAC-SM3 integrity service). Handlers call injected
// services so the same table serves `smgate start` and the tests.
import type { AuditQuery } from "../../audit/query.js";
import type { AuditRecord } from "../../audit/record.js";
import type { AuditVerifyResult } from "../../audit/verify.js";
import type { KeyInfo } from "../../keystore/types.js";
import type { HmacService } from "./hmac-service.js";
import type { AdminRoute } from "./server.js";

export interface AdminServices {
  status(): Record<string, unknown>;
  reload(): Promise<{ ok: boolean; generation?: number; digest?: string; problems?: string[]; workers?: unknown[] }>;
  metrics(): Promise<{ contentType: string; body: string }>;
  policyText(): string;
  replacePolicy(text: string): Promise<{ ok: boolean; generation?: number; digest?: string; problems?: string[] }>;
  listKeys(): KeyInfo[];
  rotateKey(name: string): Promise<KeyInfo>;
  auditQuery(q: AuditQuery): AuditRecord[];
  auditVerify(): AuditVerifyResult;
  hmac: HmacService;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

export function adminRoutes(s: AdminServices): AdminRoute[] {
  return [
    { method: "GET", url: "/status", role: "operator", action: "status", handler: () => s.status() },
    {
      method: "POST",
      url: "/reload",
      role: "operator",
      action: "reload",
      handler: async (_req, reply) => {
        const r = await s.reload();
        if (!r.ok) reply.code(422);
        return r;
      },
    },
    {
      method: "GET",
      url: "/metrics",
      role: "operator",
      action: "metrics",
      handler: async (_req, reply) => {
        const m = await s.metrics();
        return reply.type(m.contentType).send(m.body);
      },
    },
    {
      method: "GET",
      url: "/policy",
      role: "admin",
      action: "policy.read",
      handler: (_req, reply) => reply.type("application/yaml").send(s.policyText()),
    },
    {
      method: "PUT",
      url: "/policy",
      role: "admin",
      action: "policy.replace",
      handler: async (req, reply) => {
        const body = req.body as { policy?: unknown } | undefined;
        const text = str(body?.policy);
        if (text === undefined) throw new HttpError(400, 'body must be JSON {"policy": "<policy.yaml text>"}');
        const r = await s.replacePolicy(text);
        if (!r.ok) reply.code(422);
        return r;
      },
    },
    { method: "GET", url: "/keys", role: "admin", action: "keys.list", handler: () => ({ keys: s.listKeys() }) },
    {
      method: "POST",
      url: "/keys/:name/rotate",
      role: "admin",
      action: "keys.rotate",
      handler: async (req) => ({ key: await s.rotateKey((req.params as { name: string }).name) }),
    },
    {
      method: "GET",
      url: "/audit",
      role: "auditor",
      action: "audit.query",
      handler: (req) => {
        const q = req.query as Record<string, unknown>;
        const date = (v: unknown) => {
          const t = str(v);
          if (t === undefined) return undefined;
          const d = new Date(t);
          if (Number.isNaN(d.getTime())) throw new HttpError(400, `not a valid time: ${t}`);
          return d;
        };
        const type = str(q.type);
        return {
          records: s.auditQuery({
            type: type ? (type.split(",") as AuditQuery["type"]) : undefined,
            actor: str(q.actor),
            target: str(q.target),
            since: date(q.since),
            until: date(q.until),
            limit: str(q.limit) ? Math.max(1, Number(q.limit) || 100) : 100,
          }),
        };
      },
    },
    { method: "GET", url: "/audit/verify", role: "auditor", action: "audit.verify", handler: () => s.auditVerify() },
    {
      method: "POST",
      url: "/Hmac/sign",
      role: "application",
      action: "hmac.sign",
      handler: (req) => s.hmac.sign(req.body as never),
    },
    {
      method: "POST",
      url: "/Hmac/verify",
      role: "application",
      action: "hmac.verify",
      handler: (req) => s.hmac.verify(req.body as never),
    },
  ];
}
