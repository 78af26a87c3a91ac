// `smgate policy validate|sign|verify|keygen`: checks a policy file (optionally against a live database) and
// manages its detached SM2 signature (FILE.sig) for deployments that require a signed policy.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { ConfigError, loadConfig } from "../policy/config.js";
import { openInspector } from "../policy/db/inspector.js";
import { compilePolicyText, type SignatureRequirement, signatureRequirementFromConfig } from "../policy/holder.js";
import { PolicyError, parsePolicy, readPolicyText } from "../policy/policy-loader.js";
import {
  publicKeyFromPrivate,
  readSm2PrivateKey,
  readSm2PublicKey,
  SignatureError,
  signaturePathFor,
  signPolicyBytes,
  sm2GenerateKeyPair,
  verifyPolicyBytes,
} from "../policy/signature.js";
import { checkPolicyAgainstDb } from "../policy/validate-db.js";
import { formatProblem, YamlSource } from "../policy/yaml-source.js";

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** A key given on the command line: a file holding hex/PEM, or the hex itself. */
function keyText(arg: string): string {
  if (/^(04)?[0-9a-fA-F]{64}([0-9a-fA-F]{64})?$/.test(arg.trim()) && !existsSync(arg)) return arg;
  try {
    return readFileSync(arg, "utf8");
  } catch (e) {
    throw new SignatureError(`cannot read key file ${arg} (${(e as NodeJS.ErrnoException).code})`);
  }
}

/** Returns the exit code: 0 valid (warnings allowed), 1 invalid. */
/** Resolves `[file] --config`: the file given, else smgate.yaml's `policy`; plus its signature requirement. */
function policyTarget(
  file: string | undefined,
  configPath: string | undefined,
  io: CliIo,
): { file: string; signature?: SignatureRequirement } | undefined {
  if (!configPath) {
    if (!file) io.err("policy validate: give a policy file or --config smgate.yaml\n");
    return file ? { file } : undefined;
  }
  try {
    const cfg = loadConfig(configPath);
    const target: { file: string; signature?: SignatureRequirement } = { file: file ?? cfg.policy };
    if (cfg.policy_signature) target.signature = signatureRequirementFromConfig(cfg.policy_signature);
    return target;
  } catch (e) {
    if (e instanceof ConfigError) io.err(`${e.problems.map(formatProblem).join("\n")}\n`);
    else if (e instanceof SignatureError) io.err(`${configPath}: ${e.message}\n`);
    else throw e;
    return undefined;
  }
}

export async function runPolicyValidate(
  fileArg: string | undefined,
  opts: { db?: string; config?: string },
  io: CliIo = stdio,
): Promise<number> {
  const target = policyTarget(fileArg, opts.config, io);
  if (!target) return 1;
  const file = target.file;
  let text: string;
  try {
    text = readPolicyText(file);
  } catch (e) {
    if (e instanceof PolicyError) {
      io.err(`${e.problems.map(formatProblem).join("\n")}\n`);
      return 1;
    }
    throw e;
  }
  let doc: ReturnType<typeof parsePolicy>;
  try {
    doc = parsePolicy(text, file);
  } catch (e) {
    if (e instanceof PolicyError) {
      io.err(`${e.problems.map(formatProblem).join("\n")}\n`);
      io.err(`${file}: ${e.errors.length} error(s)\n`);
      return 1;
    }
    throw e;
  }
  const problems = [...doc.warnings];
  if (target.signature) {
    let sigText: string | undefined;
    try {
      sigText = readFileSync(signaturePathFor(file), "utf8");
    } catch {
      sigText = undefined;
    }
    const sig = compilePolicyText(text, file, { requirement: target.signature, sigText });
    if (!sig.ok) problems.push(...sig.problems);
    else problems.push(...sig.warnings.filter((w) => w.message.includes("signature")));
  }
  if (opts.db) {
    const db = await openInspector(opts.db);
    try {
      problems.push(...(await checkPolicyAgainstDb({ doc, src: new YamlSource(text, file), db })));
    } finally {
      await db.close();
    }
  }
  const errors = problems.filter((p) => p.severity !== "warning").length;
  if (problems.length) io.err(`${problems.map(formatProblem).join("\n")}\n`);
  const cols = [...doc.tables.values()].reduce((n, t) => n + t.columns.size, 0);
  if (errors) {
    io.err(`${file}: ${errors} error(s)${opts.db ? " against the database" : ""}\n`);
    return 1;
  }
  io.out(
    `${file}: OK (${doc.tables.size} tables, ${cols} protected columns, ${doc.access.length} access rules${opts.db ? ", checked against the database" : ""}${problems.length ? `, ${problems.length} warning(s)` : ""})\n`,
  );
  return 0;
}

export function runPolicySign(opts: { key: string; policy: string; out?: string }, io: CliIo = stdio): number {
  const priv = readSm2PrivateKey(keyText(opts.key));
  const sigPath = opts.out ?? signaturePathFor(opts.policy);
  writeFileSync(sigPath, signPolicyBytes(readFileSync(opts.policy), priv));
  io.out(`signed ${opts.policy} → ${sigPath} (SM2/SM3, public key ${publicKeyFromPrivate(priv).slice(0, 18)}…)\n`);
  return 0;
}

export function runPolicyVerify(opts: { pub: string; policy: string; sig?: string }, io: CliIo = stdio): number {
  const pub = readSm2PublicKey(keyText(opts.pub));
  const sigPath = opts.sig ?? signaturePathFor(opts.policy);
  let sig: string;
  try {
    sig = readFileSync(sigPath, "utf8");
  } catch {
    io.err(`${sigPath}: no signature file\n`);
    return 1;
  }
  if (!verifyPolicyBytes(readFileSync(opts.policy), sig, pub)) {
    io.err(`${opts.policy}: signature in ${sigPath} does NOT verify\n`);
    return 1;
  }
  io.out(`${opts.policy}: signature OK\n`);
  return 0;
}

export function runPolicyKeygen(opts: { out: string }, io: CliIo = stdio): number {
  const kp = sm2GenerateKeyPair();
  writeFileSync(`${opts.out}.key`, `${kp.privateKey}\n`, { mode: 0o600 });
  writeFileSync(`${opts.out}.pub`, `${kp.publicKey}\n`);
  io.out(`wrote ${opts.out}.key (private, mode 600) and ${opts.out}.pub\n`);
  return 0;
}

function exitWith(code: number): void {
  if (code !== 0) process.exitCode = code;
}

export function registerPolicyCommands(program: Command): void {
  const policy = program.command("policy").description("validate, sign and verify policy.yaml");
  policy
    .command("validate")
    .argument("[file]", "policy file (default: the policy named by --config)")
    .option("--db <url>", "also check tables, columns and column widths in a live database (postgres://… or mysql://…)")
    .option("-c, --config <file>", "smgate.yaml: its policy, and its policy_signature requirement")
    .description("check a policy file; every problem is reported as file:line:col")
    .action(async (file: string | undefined, opts: { db?: string; config?: string }) =>
      exitWith(await runPolicyValidate(file, opts)),
    );
  policy
    .command("sign")
    .requiredOption("--key <key>", "SM2 private key: a file (hex or PEM) or 64 hex characters")
    .requiredOption("--policy <file>", "policy file to sign")
    .option("--out <file>", "signature file (default: <policy>.sig)")
    .description("write a detached SM2 signature of the policy file")
    .action((opts: { key: string; policy: string; out?: string }) => exitWith(runPolicySign(opts)));
  policy
    .command("verify")
    .requiredOption("--pub <key>", "SM2 public key: a file (hex or PEM) or 130 hex characters")
    .requiredOption("--policy <file>", "policy file")
    .option("--sig <file>", "signature file (default: <policy>.sig)")
    .description("check the policy file's detached SM2 signature")
    .action((opts: { pub: string; policy: string; sig?: string }) => exitWith(runPolicyVerify(opts)));
  policy
    .command("keygen")
    .requiredOption("--out <prefix>", "writes <prefix>.key (private, hex) and <prefix>.pub (public, hex)")
    .description("generate an SM2 key pair for signing policies")
    .action((opts: { out: string }) => exitWith(runPolicyKeygen(opts)));
}
