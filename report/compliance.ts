// Builds the GB/T 39786-2021 level-3 compliance view of a running configuration: for each requirement of data
// transmission and storage confidentiality and integrity, key management and audit, what smgate's
// configuration does about it, the evidence (columns, algorithms, key hierarchy, audit coverage) and what is
// still missing. Reads config, policy and keystore metadata only — never key bytes.
import { existsSync, readFileSync } from "node:fs";
import { parseKeystore } from "../keystore/file-format.js";
import type { SmgateConfig } from "../policy/config.js";
import type { PolicyDoc } from "../policy/policy-types.js";

export type Status = "met" | "partial" | "not_met" | "not_applicable";

export interface Requirement {
  id: string;
  area: string;
  title: string;
  status: Status;
  evidence: string[];
  action?: string;
}

export interface ComplianceReport {
  generatedAt: string;
  configFile: string;
  policyFile: string;
  level: 3;
  requirements: Requirement[];
  columns: { column: string; protection: string; algorithm: string; key: string }[];
  keys?: { total: number; byState: Record<string, number>; provider: string; kdfIterations?: number };
}

function algorithmOf(p: { protect: string; mode?: string; format?: string; blind_index?: boolean }): string {
  if (p.protect === "fpe") return `FF1-SM4 format-preserving (${p.format})`;
  if (p.protect === "mac") return "HMAC-SM3 integrity MAC (value stays plaintext)";
  const base =
    p.mode === "deterministic" ? "SM4-CTR with SIV = HMAC-SM3 (deterministic)" : "SM4-CTR + HMAC-SM3 tag (randomized)";
  return p.blind_index ? `${base} + HMAC-SM3 blind index` : base;
}

export function buildComplianceReport(configFile: string, cfg: SmgateConfig, policy: PolicyDoc): ComplianceReport {
  const columns: ComplianceReport["columns"] = [];
  for (const t of policy.tables.values()) {
    for (const c of t.columns.values()) {
      columns.push({ column: c.ad, protection: c.protect, algorithm: algorithmOf(c), key: c.key });
    }
  }
  const enc = columns.filter((c) => c.protection !== "mac");
  const fpe = columns.filter((c) => c.protection === "fpe");
  const mac = columns.filter((c) => c.protection === "mac");
  const listeners = (["pg", "mysql"] as const).filter((k) => cfg[k]);
  const clientTls = listeners.filter((k) => cfg[k]?.tls);
  const backendTls = listeners.filter((k) => cfg[k]?.backend_tls);

  let keys: ComplianceReport["keys"];
  let keystoreNote = `keystore file ${cfg.keystore.path} not found`;
  if (existsSync(cfg.keystore.path)) {
    try {
      const ks = parseKeystore(readFileSync(cfg.keystore.path, "utf8"), cfg.keystore.path);
      const byState: Record<string, number> = {};
      for (const k of ks.keys) byState[k.state] = (byState[k.state] ?? 0) + 1;
      keys = {
        total: ks.keys.length,
        byState,
        provider: ks.provider.type,
        kdfIterations: ks.provider.type === "file" ? ks.provider.kdf.iterations : undefined,
      };
      keystoreNote = `${ks.keys.length} keys (${Object.entries(byState)
        .map(([s, n]) => `${n} ${s}`)
        .join(", ")}) under master key provider "${ks.provider.type}"`;
    } catch (e) {
      keystoreNote = `keystore file unreadable: ${(e as Error).message}`;
    }
  }

  const r: Requirement[] = [];
  r.push({
    id: "8.4-storage-confidentiality",
    area: "应用和数据安全 Application and data",
    title: "重要数据存储机密性 Storage confidentiality of important data",
    status: enc.length > 0 ? "met" : "not_met",
    evidence: enc.length
      ? enc.map((c) => `${c.column}: ${c.algorithm}, key "${c.key}"`)
      : ["no column is encrypted by the policy"],
    action: enc.length
      ? undefined
      : "protect the sensitive columns with `protect: encrypt` or `protect: fpe` (see smgate discover)",
  });
  const integrityCols = columns.filter((c) => c.protection === "encrypt" || c.protection === "mac");
  r.push({
    id: "8.4-storage-integrity",
    area: "应用和数据安全 Application and data",
    title: "重要数据存储完整性 Storage integrity of important data",
    status: integrityCols.length === 0 ? "not_met" : fpe.length > 0 ? "partial" : "met",
    evidence: [
      ...integrityCols.map(
        (c) =>
          `${c.column}: ${c.protection === "mac" ? "HMAC-SM3 companion column" : "HMAC-SM3 tag / SIV in the envelope"}`,
      ),
      ...fpe.map((c) => `${c.column}: FPE ciphertext carries no integrity tag`),
    ],
    action: fpe.length
      ? "FPE columns have no integrity protection: use `protect: encrypt` where format preservation is not required, or protect the row's other columns with `mac`"
      : undefined,
  });
  r.push({
    id: "8.4-transmission-confidentiality",
    area: "网络和通信安全 / 应用和数据安全",
    title: "重要数据传输机密性 Transmission confidentiality",
    status:
      listeners.length > 0 && clientTls.length === listeners.length && backendTls.length === listeners.length
        ? "partial"
        : "not_met",
    evidence: [
      ...listeners.map(
        (k) =>
          `${k}: client leg ${cfg[k]?.tls ? "TLS" : "plaintext"}, server leg ${cfg[k]?.backend_tls ? "TLS" : "plaintext"}`,
      ),
      "protected columns never leave smgate in clear towards the database server (SM4 at the gateway)",
    ],
    action:
      "configure `tls` and `backend_tls` on every listener; TLS here uses OpenSSL's international suites — where the assessment requires SM-suite transport (TLCP / GB/T 38636), terminate clients on a TLCP-capable proxy in front of smgate",
  });
  r.push({
    id: "8.4-transmission-integrity",
    area: "网络和通信安全 / 应用和数据安全",
    title: "重要数据传输完整性 Transmission integrity",
    status: clientTls.length === listeners.length && listeners.length > 0 ? "partial" : "not_met",
    evidence: [
      `TLS on ${clientTls.length} of ${listeners.length} client listeners`,
      "encrypted values carry HMAC-SM3 tags end to end (database ↔ gateway)",
    ],
    action: "as above: TLS everywhere, TLCP where SM-suite transport is required",
  });
  r.push({
    id: "8.4-access-control-integrity",
    area: "应用和数据安全 Application and data",
    title: "访问控制信息完整性 Integrity of access-control information",
    status: cfg.policy_signature?.required ? "met" : cfg.policy_signature ? "partial" : "not_met",
    evidence: [
      cfg.policy_signature
        ? `policy requires an SM2 signature (${cfg.policy_signature.required ? "enforced" : "checked, not enforced"}) by ${cfg.policy_signature.public_key}`
        : "policy file is not signed",
      `${policy.access.length} access rules; first match wins, no match = deny`,
    ],
    action: cfg.policy_signature?.required
      ? undefined
      : "set `policy_signature: {public_key, required: true}` and sign the policy with `smgate policy sign`",
  });
  r.push({
    id: "8.5-key-management",
    area: "密钥管理 Key management",
    title: "密钥生成、存储、使用、备份与销毁 Key lifecycle",
    status: keys === undefined ? "not_met" : keys.provider === "pkcs11" ? "met" : "partial",
    evidence: [
      "three-level hierarchy: master key → KEK → DEK; DEKs are random 128-bit SM4 keys, stored wrapped (SM4-CTR + HMAC-SM3)",
      keystoreNote,
      ...(keys?.kdfIterations ? [`master key derived by PBKDF2-HMAC-SM3 with ${keys.kdfIterations} iterations`] : []),
    ],
    action:
      keys?.provider === "pkcs11"
        ? undefined
        : "level 3 expects keys protected by a certified cryptographic module: use the pkcs11 provider with a GM-certified HSM",
  });
  r.push({
    id: "8.6-audit",
    area: "安全审计 Security audit",
    title: "日志记录及其完整性 Audit records and their integrity",
    status: cfg.audit ? "met" : "not_met",
    evidence: cfg.audit
      ? [
          `audit log ${cfg.audit.path}: JSON lines chained with HMAC-SM3 (smgate audit verify)`,
          "records logins, denials, refusals, integrity failures, policy changes, key operations, admin actions",
        ]
      : ["no audit log configured"],
    action: cfg.audit ? undefined : "set `audit: {path: …}`",
  });
  r.push({
    id: "8.6-admin-authentication",
    area: "设备和计算安全 Device and computing",
    title: "管理员身份鉴别与权限分离 Administrator authentication and separation of duties",
    status: cfg.admin?.tls?.ca && cfg.admin.roles ? "met" : cfg.admin ? "partial" : "not_applicable",
    evidence: cfg.admin
      ? [
          `admin API on ${cfg.admin.listen} ${cfg.admin.tls?.ca ? "requires client certificates" : "has no client CA configured"}`,
          `roles: ${
            Object.entries(cfg.admin.roles ?? {})
              .map(([k, v]) => `${k} (${(v ?? []).length})`)
              .join(", ") || "none"
          }`,
        ]
      : ["admin API not enabled"],
  });
  if (mac.length === 0 && enc.length === 0) {
    r.push({
      id: "scope",
      area: "Scope",
      title: "Protected data inventory",
      status: "not_met",
      evidence: ["the policy protects no column"],
      action: "run `smgate discover --db URL` to draft a policy",
    });
  }
  return {
    generatedAt: new Date().toISOString(),
    configFile,
    policyFile: cfg.policy,
    level: 3,
    requirements: r,
    columns,
    keys,
  };
}
