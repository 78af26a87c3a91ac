// The admin API's services as `smgate start` provides them: status and metrics of the worker fleet, policy
// reload (the real cluster-wide reload), policy replacement (validated, written atomically, then reloaded),
// key listing/rotation in the primary's keystore, audit query/verify of the configured log, and the HMAC
// service. Key operations are audited here; every call is audited by the admin server itself.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { type AuditKey, auditKeyFrom } from "../../audit/chain.js";
import { queryAuditLog } from "../../audit/query.js";
import { verifyAuditLog } from "../../audit/verify.js";
import type { AuditSink } from "../../audit/writer.js";
import type { KeyStore } from "../../keystore/keystore.js";
import type { SmgateConfig } from "../../policy/config.js";
import { compilePolicyText } from "../../policy/holder.js";
import { signaturePathFor } from "../../policy/signature.js";
import { formatProblem } from "../../policy/yaml-source.js";
import type { Fleet } from "../cluster/fleet.js";
import { signatureOf } from "../cluster/policy-source.js";
import type { PolicyReloader } from "../cluster/reload.js";
import { HmacService } from "./hmac-service.js";
import type { AdminServices } from "./routes.js";

class ServiceError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface GatewayServicesOptions {
  config: SmgateConfig;
  fleet: Fleet;
  reloader: PolicyReloader;
  keystore: KeyStore;
  audit?: AuditSink;
  startedAt: Date;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export function gatewayServices(o: GatewayServicesOptions): AdminServices {
  const { config, fleet, reloader, keystore } = o;
  const auditPath = config.audit?.path;
  const needAudit = (): { path: string; key: AuditKey } => {
    if (!auditPath) throw new ServiceError(404, "no audit log configured (audit.path in smgate.yaml)");
    return { path: auditPath, key: auditKeyFrom(keystore.keyRing()) };
  };
  return {
    status: () => ({
      pid: process.pid,
      startedAt: o.startedAt.toISOString(),
      policy: { file: config.policy, digest: reloader.current.digest, generation: reloader.generation },
      workers: fleet.status(),
    }),
    reload: async () => {
      const r = await reloader.reload("admin-api");
      return { ok: r.ok, generation: r.generation, digest: r.digest, problems: r.problems, workers: r.workers };
    },
    metrics: () => fleet.metrics(),
    policyText: () => reloader.current.text,
    replacePolicy: async (text) => {
      // validate before touching the file: a broken policy never reaches the disk
      const signature = signatureOf(config);
      const v = compilePolicyText(
        text,
        config.policy,
        signature ? { requirement: signature, sigText: readOptional(signaturePathFor(config.policy)) } : undefined,
      );
      if (!v.ok) {
        return { ok: false, problems: v.problems.filter((p) => p.severity !== "warning").map(formatProblem) };
      }
      const tmp = `${config.policy}.smgate-tmp`;
      writeFileSync(tmp, text, { mode: 0o640 });
      renameSync(tmp, config.policy);
      const r = await reloader.reload("admin-api");
      return { ok: r.ok, generation: r.generation, digest: r.digest, problems: r.problems };
    },
    listKeys: () => keystore.list(),
    rotateKey: async (name) => {
      let info: ReturnType<KeyStore["rotate"]>;
      try {
        info = keystore.rotate(name);
        keystore.save();
      } catch (e) {
        o.audit?.record({
          type: "key_operation",
          actor: "admin-api",
          target: name,
          action: "rotate",
          outcome: "failed",
        });
        throw new ServiceError(404, (e as Error).message);
      }
      o.audit?.record({
        type: "key_operation",
        actor: "admin-api",
        target: name,
        action: "rotate",
        outcome: "ok",
        detail: `new key id ${info.keyId}`,
      });
      return info;
    },
    auditQuery: (q) => queryAuditLog(needAudit().path, q),
    auditVerify: () => {
      const a = needAudit();
      return verifyAuditLog(a.path, a.key);
    },
    hmac: new HmacService(() => keystore.keyRing()),
  };
}
