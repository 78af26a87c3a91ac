// policy.yaml loader: YAML with positions → zod shape check → cross-field checks → PolicyDoc with defaults made
// explicit. Every problem of the file is reported at once as `file:line:col: message`; warnings do not fail.
import { readFileSync } from "node:fs";
import { buildAccess } from "./policy-access.js";
import { policySchema } from "./policy-schema.js";
import { buildTables } from "./policy-tables.js";
import { POLICY_DEFAULTS, type PolicyDoc } from "./policy-types.js";
import { SourceError, type SourceProblem, sortProblems, YamlSource } from "./yaml-source.js";

export class PolicyError extends SourceError {
  constructor(problems: SourceProblem[]) {
    super(problems, "invalid policy");
    this.name = "PolicyError";
  }
  /** Only the errors (warnings excluded). */
  get errors(): SourceProblem[] {
    return this.problems.filter((p) => p.severity !== "warning");
  }
}

/** Parses policy text; throws PolicyError with every error (and warning) found. */
export function parsePolicy(text: string, file: string): PolicyDoc {
  const src = new YamlSource(text, file);
  if (src.fatal) throw new PolicyError(src.syntaxProblems);
  const problems: SourceProblem[] = [...src.syntaxProblems];
  const v = src.value;
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    problems.push(src.problem([], "expected a mapping at top level (version, tables, access)"));
    throw new PolicyError(problems);
  }
  const shape = policySchema.safeParse(v, { reportInput: true });
  if (!shape.success) problems.push(...src.zodProblems(shape.error));
  const raw = v as Record<string, unknown>;
  const defaultKey = typeof raw.default_key === "string" ? raw.default_key : POLICY_DEFAULTS.key;
  const { tables } = buildTables(src, raw.tables, defaultKey, problems);
  const access = buildAccess(src, raw.access, tables, problems);
  const sorted = sortProblems(problems);
  if (sorted.some((p) => p.severity !== "warning")) throw new PolicyError(sorted);
  return { version: 1, defaultKey, tables, access, warnings: sorted, file };
}

/** Reads and parses a policy file. */
export function loadPolicy(path: string): PolicyDoc {
  return parsePolicy(readPolicyText(path), path);
}

export function readPolicyText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "read error";
    throw new PolicyError([{ file: path, line: 1, col: 1, message: `cannot read policy file (${code})` }]);
  }
}
