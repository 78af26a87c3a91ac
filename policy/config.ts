// smgate.yaml loader (SPEC §3, docs/CONFIG.md): zod schema with unknown keys rejected, every problem reported
// at once as `file:line:col: message`, explicit defaults, relative paths resolved against the config file's folder.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";
import type { KeystoreConfig } from "../keystore/types.js";
import { SourceError, type SourceProblem, sortProblems, YamlSource } from "./yaml-source.js";

export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
}

export interface BackendTlsOptions {
  ca?: string;
  reject_unauthorized?: boolean;
  servername?: string;
}

export interface ListenerConfig {
  /** host:port ("[::1]:6432" for IPv6). */
  listen: string;
  /** host:port of the database server. */
  backend: string;
  tls?: TlsFiles;
  backend_tls?: BackendTlsOptions | boolean;
  /** Relay sessions that need no statement hooks on the native relay thread (default true; needs the addon). */
  native_relay?: boolean;
}

// the keystore section's shape is the keystore's own (one definition)
export type { KeystoreConfig, Pkcs11Config } from "../keystore/types.js";

export interface AdminConfig {
  listen: string;
  tls?: TlsFiles;
  /** Client-certificate subject CNs per role (separated duties). */
  roles?: { admin?: string[]; auditor?: string[]; operator?: string[]; application?: string[] };
}

export interface PolicySignatureConfig {
  /** Absolute path of the SM2 public key file (hex or PEM). */
  public_key: string;
  /** When true, a policy whose FILE.sig is missing or invalid is refused on load and reload. */
  required: boolean;
}

export interface LimitsConfig {
  max_connections: number;
  max_message_bytes: number;
  statement_timeout_ms?: number;
}

export interface SmgateConfig {
  pg?: ListenerConfig;
  mysql?: ListenerConfig;
  keystore: KeystoreConfig;
  /** Absolute path of policy.yaml. */
  policy: string;
  policy_signature?: PolicySignatureConfig;
  metrics?: { listen: string };
  admin?: AdminConfig;
  audit?: { path: string };
  workers?: number;
  /** enforce (default) or shadow: analyse and log what would be refused/rewritten, pass traffic unchanged. */
  mode: "enforce" | "shadow";
  log: { level: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent" };
  limits: LimitsConfig;
  /** Absolute path of the folder holding the config file. */
  configDir: string;
}

export const CONFIG_DEFAULTS = {
  max_connections: 1000,
  max_message_bytes: 64 * 1024 * 1024,
  mode: "enforce",
  log_level: "info",
} as const;

export class ConfigError extends SourceError {
  constructor(problems: SourceProblem[]) {
    super(problems, "invalid smgate configuration");
    this.name = "ConfigError";
  }
}

const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;
const hostPort = z.string().refine(
  (s) => {
    const m = HOST_PORT.exec(s);
    return m !== null && Number(m[1]) <= 65535;
  },
  { message: 'expected "host:port" (e.g. 127.0.0.1:6432, [::1]:6432) with port 0-65535' },
);

const nonEmpty = z.string().min(1);

const tlsFiles = z.strictObject({ cert: nonEmpty, key: nonEmpty, ca: nonEmpty.optional() });

const backendTls = z.union(
  [
    z.boolean(),
    z.strictObject({
      ca: nonEmpty.optional(),
      reject_unauthorized: z.boolean().optional(),
      servername: nonEmpty.optional(),
    }),
  ],
  { error: "expected true, false or a mapping {ca, reject_unauthorized, servername}" },
);

const listener = z.strictObject({
  listen: hostPort,
  backend: hostPort,
  tls: tlsFiles.optional(),
  backend_tls: backendTls.optional(),
  native_relay: z.boolean({ error: "expected true or false" }).optional(),
});

const SIZE = /^(\d+)\s*(B|KiB|MiB|GiB|kB|KB|MB|GB)?$/;
const SIZE_FACTORS: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  kB: 1000,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
};

/** A byte size: an integer, or a string like "64MiB" / "512 KiB" / "10MB". */
export function parseByteSize(v: number | string): number | undefined {
  if (typeof v === "number") return Number.isSafeInteger(v) && v > 0 ? v : undefined;
  const m = SIZE.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * SIZE_FACTORS[m[2] ?? "B"];
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

const byteSize = z.union([z.number(), z.string()]).refine((v) => parseByteSize(v) !== undefined, {
  message: 'expected a positive byte size: an integer or a string like "64MiB", "512KiB", "10MB"',
});

const keystore = z
  .strictObject({
    provider: z.enum(["file", "env", "pkcs11"]),
    path: nonEmpty,
    passphrase_env: nonEmpty.optional(),
    master_key_env: nonEmpty.optional(),
    pkcs11: z
      .strictObject({
        module: nonEmpty,
        slot: z.number().int().min(0).optional(),
        token_label: nonEmpty.optional(),
        pin_env: nonEmpty.optional(),
        key_label: nonEmpty.optional(),
        mechanism: nonEmpty.optional(),
      })
      .optional(),
  })
  .superRefine((ks, ctx) => {
    if (ks.provider === "pkcs11" && !ks.pkcs11) {
      ctx.addIssue({ code: "custom", path: ["provider"], message: 'provider "pkcs11" needs a "pkcs11" section' });
    }
  });

const roleList = z.array(nonEmpty).optional();

export const configSchema = z.strictObject({
  pg: listener.optional(),
  mysql: listener.optional(),
  keystore,
  policy: nonEmpty,
  policy_signature: z.strictObject({ public_key: nonEmpty, required: z.boolean().default(true) }).optional(),
  metrics: z.strictObject({ listen: hostPort }).optional(),
  admin: z
    .strictObject({
      listen: hostPort,
      tls: tlsFiles.optional(),
      roles: z
        .strictObject({ admin: roleList, auditor: roleList, operator: roleList, application: roleList })
        .optional(),
    })
    .optional(),
  audit: z.strictObject({ path: nonEmpty }).optional(),
  workers: z.number().int().min(1).max(256).optional(),
  mode: z.enum(["enforce", "shadow"]).default(CONFIG_DEFAULTS.mode),
  log: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default(CONFIG_DEFAULTS.log_level),
    })
    .default({ level: CONFIG_DEFAULTS.log_level }),
  limits: z
    .strictObject({
      max_connections: z.number().int().min(1).default(CONFIG_DEFAULTS.max_connections),
      max_message_bytes: byteSize.default(CONFIG_DEFAULTS.max_message_bytes),
      statement_timeout_ms: z.number().int().min(1).optional(),
    })
    .default({
      max_connections: CONFIG_DEFAULTS.max_connections,
      max_message_bytes: CONFIG_DEFAULTS.max_message_bytes,
    }),
});

type ParsedConfig = z.output<typeof configSchema>;

/** Parses smgate.yaml text; `file` is its path (used for messages and to resolve relative paths). */
export function parseConfig(text: string, file: string): SmgateConfig {
  const src = new YamlSource(text, file);
  if (src.fatal) throw new ConfigError(src.syntaxProblems);
  const problems: SourceProblem[] = [...src.syntaxProblems];
  if (src.value === null || typeof src.value !== "object" || Array.isArray(src.value)) {
    problems.push(src.problem([], "expected a mapping at top level (keystore, policy, pg, mysql, ...)"));
    throw new ConfigError(sortProblems(problems));
  }
  const parsed = configSchema.safeParse(src.value, { reportInput: true });
  if (!parsed.success) problems.push(...src.zodProblems(parsed.error));
  else {
    const c = parsed.data;
    const listens = new Map<string, string>();
    const checkListen = (path: string[], addr: string | undefined) => {
      if (!addr) return;
      const prev = listens.get(addr);
      if (prev) problems.push(src.problem(path, `listen address ${addr} already used by ${prev}`));
      else listens.set(addr, path.join("."));
    };
    checkListen(["pg", "listen"], c.pg?.listen);
    checkListen(["mysql", "listen"], c.mysql?.listen);
    checkListen(["metrics", "listen"], c.metrics?.listen);
    checkListen(["admin", "listen"], c.admin?.listen);
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(sortProblems(problems));
  return resolvePaths(parsed.data, dirname(resolve(file)));
}

/** Reads and parses smgate.yaml. Throws ConfigError (all problems) or a ConfigError for an unreadable file. */
export function loadConfig(path: string): SmgateConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "read error";
    throw new ConfigError([{ file: path, line: 1, col: 1, message: `cannot read config file (${code})` }]);
  }
  return parseConfig(text, path);
}

function resolvePaths(c: ParsedConfig, dir: string): SmgateConfig {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const absOpt = (p: string | undefined) => (p === undefined ? undefined : abs(p));
  const tls = (t: TlsFiles | undefined): TlsFiles | undefined =>
    t ? stripUndefined({ cert: abs(t.cert), key: abs(t.key), ca: absOpt(t.ca) }) : undefined;
  const listenerPaths = (l: ListenerConfig | undefined): ListenerConfig | undefined => {
    if (!l) return undefined;
    const out: ListenerConfig = { listen: l.listen, backend: l.backend };
    if (l.tls) out.tls = tls(l.tls);
    if (l.native_relay !== undefined) out.native_relay = l.native_relay;
    if (l.backend_tls !== undefined) {
      out.backend_tls =
        typeof l.backend_tls === "boolean"
          ? l.backend_tls
          : stripUndefined({ ...l.backend_tls, ca: absOpt(l.backend_tls.ca) });
    }
    return out;
  };
  const ks: KeystoreConfig = stripUndefined({
    provider: c.keystore.provider,
    path: abs(c.keystore.path),
    passphrase_env: c.keystore.passphrase_env,
    master_key_env: c.keystore.master_key_env,
    pkcs11: c.keystore.pkcs11
      ? stripUndefined({
          ...c.keystore.pkcs11,
          // a bare library name ("libsofthsm2.so") is left to the dynamic loader's search path
          module: c.keystore.pkcs11.module.includes("/") ? abs(c.keystore.pkcs11.module) : c.keystore.pkcs11.module,
        })
      : undefined,
  });
  const limits: LimitsConfig = {
    max_connections: c.limits.max_connections,
    max_message_bytes: parseByteSize(c.limits.max_message_bytes)!,
  };
  if (c.limits.statement_timeout_ms !== undefined) limits.statement_timeout_ms = c.limits.statement_timeout_ms;
  return stripUndefined({
    pg: listenerPaths(c.pg),
    mysql: listenerPaths(c.mysql),
    keystore: ks,
    policy: abs(c.policy),
    policy_signature: c.policy_signature
      ? { public_key: abs(c.policy_signature.public_key), required: c.policy_signature.required }
      : undefined,
    metrics: c.metrics ? { listen: c.metrics.listen } : undefined,
    admin: c.admin
      ? stripUndefined({ listen: c.admin.listen, tls: tls(c.admin.tls), roles: c.admin.roles })
      : undefined,
    audit: c.audit ? { path: abs(c.audit.path) } : undefined,
    workers: c.workers,
    mode: c.mode,
    log: { level: c.log.level },
    limits,
    configDir: dir,
  });
}

function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
