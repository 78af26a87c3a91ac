// Reading and validating the policy for `smgate start`: the primary reads policy.yaml (and FILE.sig) once,
// validates it fully, and hands the same text to every worker; workers compile that text into their own
// PolicyHolder. Problems are reported as `file:line:col: message`.
import { readFileSync } from "node:fs";
import type { CompiledPolicy } from "../../policy/compile.js";
import type { SmgateConfig } from "../../policy/config.js";
import {
  compilePolicyText,
  PolicyHolder,
  type SignatureRequirement,
  signatureRequirementFromConfig,
} from "../../policy/holder.js";
import { PolicyError } from "../../policy/policy-loader.js";
import { signaturePathFor } from "../../policy/signature.js";
import { formatProblem, type SourceProblem } from "../../policy/yaml-source.js";
import type { PolicyText } from "./messages.js";

export type PolicyRead = { ok: true; policy: PolicyText; compiled: CompiledPolicy } | { ok: false; problems: string[] };

export function signatureOf(config: Pick<SmgateConfig, "policy_signature">): SignatureRequirement | undefined {
  return config.policy_signature ? signatureRequirementFromConfig(config.policy_signature) : undefined;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

const errorsOnly = (ps: SourceProblem[]) => ps.filter((p) => p.severity !== "warning").map(formatProblem);

/** Reads config.policy (+ signature) and validates it; nothing is applied anywhere. */
export function readPolicy(config: Pick<SmgateConfig, "policy" | "policy_signature">): PolicyRead {
  const file = config.policy;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "read error";
    return { ok: false, problems: [`${file}:1:1: cannot read policy file (${code})`] };
  }
  const signature = signatureOf(config);
  const sigText = signature ? readOptional(signaturePathFor(file)) : undefined;
  const r = compilePolicyText(text, file, signature ? { requirement: signature, sigText } : undefined);
  if (!r.ok) return { ok: false, problems: errorsOnly(r.problems) };
  const policy: PolicyText = { file, text, digest: r.digest };
  if (sigText !== undefined) policy.sigText = sigText;
  return { ok: true, policy, compiled: r.policy };
}

/** `file:line:col: message` lines of a PolicyError (or the message of another error). */
export function problemsOf(e: unknown): string[] {
  if (e instanceof PolicyError) return errorsOnly(e.problems);
  return [(e as Error)?.message ?? String(e)];
}

/** A worker's policy holder built from the primary's text (throws PolicyError when it does not validate). */
export function holderFromText(p: PolicyText, signature: SignatureRequirement | undefined): PolicyHolder {
  const r = compilePolicyText(p.text, p.file, signature ? { requirement: signature, sigText: p.sigText } : undefined);
  if (!r.ok) throw new PolicyError(r.problems);
  return new PolicyHolder(r.policy, { path: p.file, signature, digest: r.digest });
}

/** Applies the primary's text to a holder atomically; on failure the old policy stays in force. */
export function applyPolicyText(
  holder: PolicyHolder,
  p: PolicyText,
): { ok: true; digest: string; generation: number } | { ok: false; problems: string[] } {
  const r = holder.reload(p.text, p.file, p.sigText);
  if (!r.ok) return { ok: false, problems: errorsOnly(r.problems) };
  return { ok: true, digest: r.digest, generation: r.generation };
}
