// The admin API over HTTPS with client certificates: every route × every role is tried — only the route's
// own role succeeds, the others get 403 (and each attempt is audited); unknown CNs get 403; certificates from
// another CA or none at all fail the TLS handshake. The HMAC-SM3 service signs and verifies across rotation.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_KEY_NAME, auditKeyFrom } from "../../audit/chain.js";
import { queryAuditLog } from "../../audit/query.js";
import { verifyAuditLog } from "../../audit/verify.js";
import { AuditWriter } from "../../audit/writer.js";
import type { KeyStore } from "../../keystore/keystore.js";
import { initKeyStore } from "../../keystore/open.js";
import { PolicyHolder } from "../../policy/holder.js";
import { HmacService } from "../../proxy/admin/hmac-service.js";
import { adminRoutes } from "../../proxy/admin/routes.js";
import { type AdminServer, startAdminServer } from "../../proxy/admin/server.js";
import { GatewayMetrics } from "../../proxy/metrics.js";
import { makePki, type Pem } from "./certs.js";

const ROLE_CNS = { admin: "alice-admin", auditor: "bob-auditor", operator: "carl-operator", application: "his-app" };
const pki = makePki([...Object.values(ROLE_CNS), "mallory"]);
let server: AdminServer;
let ks: KeyStore;
let auditPath: string;
let audit: AuditWriter;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "smg-admin-"));
  const env = { SMG_ADMIN_TEST_MASTER: randomBytes(16).toString("hex") };
  ks = await initKeyStore(
    { provider: "env", path: join(dir, "ks.json"), master_key_env: "SMG_ADMIN_TEST_MASTER" },
    { env },
  );
  ks.createKey(AUDIT_KEY_NAME);
  ks.createKey("app-integrity");
  ks.save();
  auditPath = join(dir, "audit.log");
  audit = new AuditWriter(auditPath, auditKeyFrom(ks.keyRing()));
  const policyPath = join(dir, "policy.yaml");
  writeFileSync(policyPath, "version: 1\n");
  const policy = PolicyHolder.fromFile(policyPath);
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  server = await startAdminServer({
    host: "127.0.0.1",
    port: 0,
    tls: { ...pki.server, ca: pki.ca },
    roles: {
      admin: [ROLE_CNS.admin],
      auditor: [ROLE_CNS.auditor],
      operator: [ROLE_CNS.operator],
      application: [ROLE_CNS.application],
    },
    audit,
    routes: adminRoutes({
      status: () => ({ connections: 0, policyGeneration: policy.generation }),
      reload: async () => {
        const r = policy.reloadFromFile();
        return r.ok
          ? { ok: true, generation: r.generation }
          : { ok: false, problems: r.problems.map((p) => p.message) };
      },
      metrics: () => metrics.render(),
      policyText: () => "version: 1\n",
      replacePolicy: async (text) => {
        const r = policy.reload(text, "policy.yaml");
        return r.ok
          ? { ok: true, generation: r.generation }
          : { ok: false, problems: r.problems.map((p) => `${p.line}:${p.col}: ${p.message}`) };
      },
      listKeys: () => ks.list(),
      rotateKey: async (name) => {
        const k = ks.rotate(name);
        ks.save();
        return k;
      },
      auditQuery: (q) => queryAuditLog(auditPath, q),
      auditVerify: () => verifyAuditLog(auditPath, auditKeyFrom(ks.keyRing())),
      hmac: new HmacService(() => ks.keyRing()),
    }),
  });
});

afterAll(async () => {
  await server?.close();
  audit?.close();
  ks?.close();
});

function call(
  who: Pem | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const { port } = server.address();
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        ca: pki.ca,
        ...(who ? { cert: who.cert, key: who.key } : {}),
        headers: data ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) } : {},
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => {
          let json: unknown = text;
          try {
            json = JSON.parse(text);
          } catch {
            // metrics / policy are text
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

const ROUTES: { role: keyof typeof ROLE_CNS; method: string; path: string; body?: unknown }[] = [
  { role: "operator", method: "GET", path: "/status" },
  { role: "operator", method: "POST", path: "/reload" },
  { role: "operator", method: "GET", path: "/metrics" },
  { role: "admin", method: "GET", path: "/policy" },
  { role: "admin", method: "PUT", path: "/policy", body: { policy: "version: 1\n" } },
  { role: "admin", method: "GET", path: "/keys" },
  { role: "admin", method: "POST", path: "/keys/app-integrity/rotate" },
  { role: "auditor", method: "GET", path: "/audit?type=admin_action&limit=5" },
  { role: "auditor", method: "GET", path: "/audit/verify" },
  { role: "application", method: "POST", path: "/Hmac/sign", body: { key: "app-integrity", data: "hello" } },
  {
    role: "application",
    method: "POST",
    path: "/Hmac/verify",
    body: { key: "app-integrity", data: "hello", mac: "00".repeat(32) },
  },
];

describe("admin API separated duties", () => {
  for (const route of ROUTES) {
    for (const role of Object.keys(ROLE_CNS) as (keyof typeof ROLE_CNS)[]) {
      const allowed = role === route.role;
      it(`${route.method} ${route.path} as ${role} → ${allowed ? "allowed" : "403"}`, async () => {
        const r = await call(pki.clients[ROLE_CNS[role]], route.method, route.path, route.body);
        if (allowed) expect(r.status, JSON.stringify(r.json)).toBe(200);
        else expect(r.status).toBe(403);
      });
    }
  }

  it("a certificate CN holding no role is refused everywhere", async () => {
    for (const route of ROUTES) {
      expect((await call(pki.clients.mallory, route.method, route.path, route.body)).status).toBe(403);
    }
  });

  it("no client certificate, or one from another CA, fails the TLS handshake", async () => {
    await expect(call(undefined, "GET", "/status")).rejects.toThrow();
    await expect(call(pki.foreign, "GET", "/status")).rejects.toThrow();
  });

  it("denied attempts are audited with the certificate CN and the chain verifies", async () => {
    await call(pki.clients[ROLE_CNS.auditor], "POST", "/keys/app-integrity/rotate");
    const denied = queryAuditLog(auditPath, { type: ["admin_action"], actor: ROLE_CNS.auditor }).filter(
      (r) => r.outcome === "denied" && r.action === "keys.rotate",
    );
    expect(denied.length).toBeGreaterThan(0);
    expect(verifyAuditLog(auditPath, auditKeyFrom(ks.keyRing())).ok).toBe(true);
  });

  it("HMAC-SM3 service: sign, verify, reject tampering, verify old MACs after rotation", async () => {
    const app = pki.clients[ROLE_CNS.application];
    const s = await call(app, "POST", "/Hmac/sign", { key: "app-integrity", data: "转账 100 元" });
    const signed = s.json as { mac: string; key_id: number; algorithm: string };
    expect(signed.algorithm).toBe("HMAC-SM3");
    expect(signed.mac).toMatch(/^[0-9a-f]{64}$/);
    const ok = await call(app, "POST", "/Hmac/verify", { key: "app-integrity", data: "转账 100 元", mac: signed.mac });
    expect(ok.json).toMatchObject({ valid: true });
    const bad = await call(app, "POST", "/Hmac/verify", { key: "app-integrity", data: "转账 900 元", mac: signed.mac });
    expect(bad.json).toMatchObject({ valid: false });
    await call(pki.clients[ROLE_CNS.admin], "POST", "/keys/app-integrity/rotate");
    const after = await call(app, "POST", "/Hmac/verify", {
      key: "app-integrity",
      data: "转账 100 元",
      mac: signed.mac,
      key_id: signed.key_id,
    });
    expect(after.json).toMatchObject({ valid: true, key_id: signed.key_id });
    const unknown = await call(app, "POST", "/Hmac/sign", { key: "nope", data: "x" });
    expect(unknown.status).toBe(404);
    const malformed = await call(app, "POST", "/Hmac/sign", { key: "app-integrity", data: 5 });
    expect(malformed.status).toBe(400);
  });
});
