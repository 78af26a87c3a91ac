// User-defined discovery rules (`smgate discover --rules FILE`): YAML list of named regular expressions with an
// optional validator (luhn, gb11643, gb32100) and suggested protection; problems reported as file:line:col.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { SourceError, type SourceProblem, sortProblems, YamlSource } from "../yaml-source.js";
import { BUILTIN_DETECTORS, type Detector, type Suggestion, VALIDATORS, type ValidatorName } from "./detectors.js";

export class RulesError extends SourceError {
  constructor(problems: SourceProblem[]) {
    super(problems, "invalid discovery rules");
    this.name = "RulesError";
  }
}

const suggestion = z.union(
  [
    z.strictObject({
      protect: z.literal("fpe"),
      format: z.enum(["cn-id", "cn-mobile", "bank-card", "digits", "alnum"]),
    }),
    z.strictObject({
      protect: z.literal("encrypt"),
      mode: z.enum(["deterministic", "randomized"]).default("deterministic"),
      blind_index: z.boolean().optional(),
    }),
  ],
  { error: "expected {protect: fpe, format: …} or {protect: encrypt, mode: deterministic|randomized}" },
);

const rulesSchema = z.strictObject({
  rules: z.array(
    z.strictObject({
      name: z.string().regex(/^[A-Za-z0-9_.-]+$/, "use letters, digits, _ . -"),
      pattern: z.string().min(1),
      flags: z
        .string()
        .regex(/^[imsu]*$/, "allowed flags: i, m, s, u")
        .optional(),
      validator: z.enum(Object.keys(VALIDATORS) as [ValidatorName, ...ValidatorName[]]).optional(),
      description: z.string().optional(),
      suggest: suggestion.optional(),
    }),
  ),
});

/** Parses rules text into detectors (run after the built-in ones, or replacing one of the same name). */
export function parseRules(text: string, file: string): Detector[] {
  const src = new YamlSource(text, file);
  if (src.fatal) throw new RulesError(src.syntaxProblems);
  const problems: SourceProblem[] = [...src.syntaxProblems];
  const parsed = rulesSchema.safeParse(src.value, { reportInput: true });
  if (!parsed.success) throw new RulesError(sortProblems([...problems, ...src.zodProblems(parsed.error)]));
  const out: Detector[] = [];
  const names = new Set<string>();
  parsed.data.rules.forEach((r, i) => {
    if (names.has(r.name)) problems.push(src.problem(["rules", i, "name"], `duplicate rule name "${r.name}"`));
    names.add(r.name);
    let re: RegExp;
    try {
      // anchored: the whole value must match
      re = new RegExp(`^(?:${r.pattern})$`, r.flags ?? "");
    } catch (e) {
      problems.push(src.problem(["rules", i, "pattern"], `invalid regular expression: ${(e as Error).message}`));
      return;
    }
    const validate = r.validator ? VALIDATORS[r.validator] : undefined;
    const suggest: Suggestion = (r.suggest as Suggestion | undefined) ?? { protect: "encrypt", mode: "deterministic" };
    out.push({
      name: r.name,
      description: r.description ?? `user rule /${r.pattern}/${r.validator ? ` + ${r.validator}` : ""}`,
      suggest,
      test: (v) => re.test(v) && (validate === undefined || validate(v)),
    });
  });
  if (problems.length) throw new RulesError(sortProblems(problems));
  return out;
}

export function loadRules(path: string): Detector[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new RulesError([
      { file: path, line: 1, col: 1, message: `cannot read rules file (${(e as NodeJS.ErrnoException).code})` },
    ]);
  }
  return parseRules(text, path);
}

/** Built-in detectors plus user rules; a user rule with a built-in's name replaces it. */
export function detectorSet(userRules: Detector[] = []): Detector[] {
  const user = new Map(userRules.map((d) => [d.name, d]));
  return [
    ...BUILTIN_DETECTORS.map((d) => user.get(d.name) ?? d),
    ...userRules.filter((d) => !BUILTIN_DETECTORS.some((b) => b.name === d.name)),
  ];
}
