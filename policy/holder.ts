// The policy in force, with hot reload: `reload` validates the new text fully (and its SM2 signature when
// required) and swaps atomically; an invalid file leaves the old policy in force and returns the problems.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { type CompiledPolicy, compilePolicy } from "./compile.js";
import type { PolicySignatureConfig, SmgateConfig } from "./config.js";
import { PolicyError, parsePolicy, readPolicyText } from "./policy-loader.js";
import { readSm2PublicKey, SignatureError, signaturePathFor, verifyPolicyBytes } from "./signature.js";
import type { SourceProblem } from "./yaml-source.js";

export interface SignatureRequirement {
  /** SM2 public key, 130 hex chars */
  publicKeyHex: string;
  /** true: a missing or bad signature rejects the policy; false: only reported as a warning */
  required: boolean;
}

export type ReloadResult =
  | {
      ok: true;
      policy: CompiledPolicy;
      generation: number;
      warnings: SourceProblem[];
      /** SM3 hex of the policy text (for audit records of policy changes) */
      digest: string;
    }
  | { ok: false; problems: SourceProblem[] };

export type PolicyListener = (policy: CompiledPolicy, generation: number) => void;

/** Validates text (+ signature) into a compiled policy, or returns the problems. */
export function compilePolicyText(
  text: string,
  fileName: string,
  signature?: { requirement: SignatureRequirement; sigText: string | undefined },
): ReloadResult {
  const sigProblems: SourceProblem[] = [];
  if (signature) {
    const { requirement, sigText } = signature;
    const where = { file: fileName, line: 1, col: 1 };
    let problem: string | undefined;
    if (sigText === undefined) problem = `no signature (${signaturePathFor(fileName)} not found)`;
    else if (!verifyPolicyBytes(Buffer.from(text, "utf8"), sigText, requirement.publicKeyHex)) {
      problem = "SM2 signature does not verify (file changed after signing, or signed by another key)";
    }
    if (problem) {
      if (requirement.required) return { ok: false, problems: [{ ...where, message: problem }] };
      sigProblems.push({ ...where, message: problem, severity: "warning" });
    }
  }
  try {
    const doc = parsePolicy(text, fileName);
    return {
      ok: true,
      policy: compilePolicy(doc),
      generation: 0,
      warnings: [...sigProblems, ...doc.warnings],
      digest: createHash("sm3").update(text, "utf8").digest("hex"),
    };
  } catch (e) {
    if (e instanceof PolicyError) return { ok: false, problems: e.problems };
    throw e;
  }
}

/** Reads smgate.yaml's `policy_signature` (public key file: hex or PEM) into a requirement. */
export function signatureRequirementFromConfig(cfg: PolicySignatureConfig): SignatureRequirement {
  let text: string;
  try {
    text = readFileSync(cfg.public_key, "utf8");
  } catch (e) {
    throw new SignatureError(
      `policy_signature.public_key: cannot read ${cfg.public_key} (${(e as NodeJS.ErrnoException).code})`,
    );
  }
  return { publicKeyHex: readSm2PublicKey(text), required: cfg.required };
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export class PolicyHolder {
  private policy: CompiledPolicy;
  private gen = 1;
  private currentDigest: string | undefined;
  private readonly listeners = new Set<PolicyListener>();
  readonly path: string | undefined;
  readonly signature: SignatureRequirement | undefined;

  constructor(
    initial: CompiledPolicy,
    opts: { path?: string; signature?: SignatureRequirement; digest?: string } = {},
  ) {
    this.policy = initial;
    this.currentDigest = opts.digest;
    this.path = opts.path;
    this.signature = opts.signature;
  }

  /** Loads a policy file (and FILE.sig when a signature is configured); throws PolicyError when invalid. */
  static fromFile(path: string, signature?: SignatureRequirement): PolicyHolder {
    const r = compilePolicyText(
      readPolicyText(path),
      path,
      signature ? { requirement: signature, sigText: readOptional(signaturePathFor(path)) } : undefined,
    );
    if (!r.ok) throw new PolicyError(r.problems);
    return new PolicyHolder(r.policy, { path, signature, digest: r.digest });
  }

  /** Loads the policy named by smgate.yaml, with its signature requirement when `policy_signature` is set. */
  static fromConfig(cfg: Pick<SmgateConfig, "policy" | "policy_signature">): PolicyHolder {
    return PolicyHolder.fromFile(
      cfg.policy,
      cfg.policy_signature ? signatureRequirementFromConfig(cfg.policy_signature) : undefined,
    );
  }

  current(): CompiledPolicy {
    return this.policy;
  }

  /** SM3 hex of the text of the policy in force (undefined when constructed from a compiled policy). */
  get digest(): string | undefined {
    return this.currentDigest;
  }

  /** Increases by one on every successful reload; lets connections notice they hold an old decision. */
  get generation(): number {
    return this.gen;
  }

  onChange(listener: PolicyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Validates `newText` fully and swaps it in atomically. `sigText` is the detached signature content
   * (checked when a signature requirement is configured). On any problem the old policy stays in force.
   */
  reload(newText: string, fileName: string, sigText?: string): ReloadResult {
    const r = compilePolicyText(
      newText,
      fileName,
      this.signature ? { requirement: this.signature, sigText } : undefined,
    );
    if (!r.ok) return r;
    this.policy = r.policy;
    this.currentDigest = r.digest;
    this.gen++;
    for (const l of this.listeners) {
      try {
        l(r.policy, this.gen);
      } catch {
        // a listener's failure must not undo or block the swap
      }
    }
    return { ...r, generation: this.gen };
  }

  /** Re-reads the policy file (and FILE.sig) this holder was loaded from (SIGHUP, POST /reload). */
  reloadFromFile(path = this.path): ReloadResult {
    if (!path)
      return { ok: false, problems: [{ file: "(policy)", line: 1, col: 1, message: "no policy file path known" }] };
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "read error";
      return { ok: false, problems: [{ file: path, line: 1, col: 1, message: `cannot read policy file (${code})` }] };
    }
    return this.reload(text, path, this.signature ? readOptional(signaturePathFor(path)) : undefined);
  }
}
