// Test helper both end-to-end encryption suites (PostgreSQL, MySQL) build their gateway from: a fresh
// keystore (env master key, in a temporary folder) holding the policy's keys, a PolicyHolder over the test
// policy, a debug logger writing JSON lines into an in-memory buffer (so tests can grep it), a metrics
// registry of its own and an audit sink collecting events.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type Logger, pino } from "pino";
import type { AuditEvent } from "../../audit/record.js";
import type { AuditSink } from "../../audit/writer.js";
import type { KeyStore } from "../../keystore/keystore.js";
import { initKeyStore } from "../../keystore/open.js";
import { compilePolicyText, PolicyHolder } from "../../policy/holder.js";
import { GatewayMetrics } from "../../proxy/metrics.js";

export interface TestLayerInputs {
  keystore: KeyStore;
  policy: PolicyHolder;
  logger: Logger;
  /** everything smgate logged (JSON lines) */
  logs: string[];
  metrics: GatewayMetrics;
  /** audit events recorded through `auditSink` */
  audit: AuditEvent[];
  auditSink: AuditSink;
}

export async function openTestLayerInputs(opts: {
  /** prefix of the temporary keystore folder */
  tmpPrefix: string;
  /** name of the (test-local) env variable holding the master key */
  masterKeyEnv: string;
  keys: string[];
  policyYaml: string;
}): Promise<TestLayerInputs> {
  const dir = mkdtempSync(join(tmpdir(), opts.tmpPrefix));
  const env = { [opts.masterKeyEnv]: randomBytes(16).toString("hex") };
  const keystore = await initKeyStore(
    { provider: "env", path: join(dir, "ks.json"), master_key_env: opts.masterKeyEnv },
    { env },
  );
  for (const k of opts.keys) keystore.createKey(k);
  const compiled = compilePolicyText(opts.policyYaml, "policy.yaml");
  if (!compiled.ok) throw new Error(`test policy invalid: ${JSON.stringify(compiled.problems)}`);
  const policy = new PolicyHolder(compiled.policy);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: "debug" }, sink);
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const audit: AuditEvent[] = [];
  return { keystore, policy, logger, logs, metrics, audit, auditSink: { record: (ev) => void audit.push(ev) } };
}
