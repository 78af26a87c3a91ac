// HTTPS admin API (fastify) with client-certificate authentication and separated duties: every route names
// the one role allowed to call it; the role comes from the certificate's subject CN (admin.roles). Every call,
// allowed or denied, is audited with the certificate CN as actor.
import type { TLSSocket } from "node:tls";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { AuditSink } from "../../audit/writer.js";
import { type AdminRole, type RoleMap, RoleResolver } from "./roles.js";

export interface AdminTls {
  cert: Buffer | string;
  key: Buffer | string;
  /** CA client certificates must chain to */
  ca: Buffer | string;
}

export interface AdminRoute {
  method: "GET" | "POST" | "PUT" | "DELETE";
  url: string;
  role: AdminRole;
  /** what the audit record calls this action */
  action: string;
  handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown> | unknown;
}

export interface AdminServerOptions {
  host: string;
  port: number;
  tls: AdminTls;
  roles: RoleMap;
  routes: AdminRoute[];
  audit?: AuditSink;
}

export interface AdminServer {
  address(): { host: string; port: number };
  close(): Promise<void>;
  readonly app: FastifyInstance;
}

function peerCn(req: FastifyRequest): string | undefined {
  const sock = req.raw.socket as TLSSocket;
  if (!sock.authorized) return undefined;
  const cn = sock.getPeerCertificate()?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const roles = new RoleResolver(opts.roles);
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    https: { cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: true, rejectUnauthorized: true },
  });
  for (const r of opts.routes) {
    app.route({
      method: r.method,
      url: r.url,
      handler: async (req, reply) => {
        const cn = peerCn(req);
        const role = roles.roleOf(cn);
        if (role !== r.role) {
          opts.audit?.record({
            type: "admin_action",
            actor: cn ?? "(no certificate)",
            action: r.action,
            outcome: "denied",
            detail: `requires role ${r.role}, certificate holds ${role ?? "none"}`,
          });
          return reply.code(403).send({ error: `forbidden: ${r.action} requires the ${r.role} role` });
        }
        try {
          const res = await r.handler(req, reply);
          // a handler may answer an error status itself (e.g. 422 for a refused reload)
          const failed = reply.statusCode >= 400;
          opts.audit?.record({
            type: "admin_action",
            actor: cn,
            action: r.action,
            outcome: failed ? "failed" : "ok",
            detail: failed ? `HTTP ${reply.statusCode}` : undefined,
          });
          return res;
        } catch (e) {
          const status = (e as { status?: number }).status ?? 500;
          opts.audit?.record({
            type: "admin_action",
            actor: cn,
            action: r.action,
            outcome: "failed",
            detail: `HTTP ${status}`,
          });
          return reply.code(status).send({ error: status === 500 ? "internal error" : (e as Error).message });
        }
      },
    });
  }
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  if (addr === null || typeof addr === "string") throw new Error("admin API did not bind a TCP port");
  return {
    app,
    address: () => ({ host: addr.address, port: addr.port }),
    close: () => app.close(),
  };
}
