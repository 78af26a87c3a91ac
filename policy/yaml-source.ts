// YAML documents with source positions: parses a file with the `yaml` package, keeps a line counter, and maps
// a value path (["tables", "public.t", "columns", "c", "format"]) back to `line:col` so every problem found in
// the parsed data — by the zod schema or by semantic checks — is reported as `file:line:col: message`.
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { ZodError } from "zod";

export type Severity = "error" | "warning";

export interface SourceProblem {
  file: string;
  line: number;
  col: number;
  message: string;
  severity?: Severity;
}

export type ValuePath = readonly (string | number)[];

export function formatProblem(p: SourceProblem): string {
  const tag = p.severity === "warning" ? "warning: " : "";
  return `${p.file}:${p.line}:${p.col}: ${tag}${p.message}`;
}

/** Base of ConfigError and PolicyError: carries every problem found, the message lists them all. */
export class SourceError extends Error {
  readonly problems: SourceProblem[];
  constructor(problems: SourceProblem[], what: string) {
    const errors = problems.filter((p) => p.severity !== "warning");
    super(
      `${what}: ${errors.length} problem${errors.length === 1 ? "" : "s"}\n${problems.map(formatProblem).join("\n")}`,
    );
    this.name = "SourceError";
    this.problems = problems;
  }
}

/** One parsed YAML file plus the means to locate any path in it. */
export class YamlSource {
  readonly file: string;
  readonly doc: Document;
  readonly value: unknown;
  /** YAML syntax problems (duplicate keys included). */
  readonly syntaxProblems: SourceProblem[];
  /** True when the syntax problems make the data unreliable (anything beyond duplicate keys). */
  readonly fatal: boolean;
  private readonly lines: LineCounter;
  private readonly text: string;

  constructor(text: string, file: string) {
    this.file = file;
    this.text = text;
    this.lines = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    this.syntaxProblems = [];
    let fatal = false;
    for (const e of this.doc.errors) {
      const { line, col } = this.lines.linePos(e.pos[0]);
      let message = `YAML syntax: ${e.message}`;
      if (e.code === "DUPLICATE_KEY") {
        const keyText = text.slice(e.pos[0]).split(/[:\n]/)[0].trim();
        message = `duplicate key "${keyText}"`;
      } else {
        fatal = true;
      }
      this.syntaxProblems.push({ file, line, col, message });
    }
    this.fatal = fatal;
    let value: unknown;
    try {
      value = this.doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      fatal = true;
      this.syntaxProblems.push({ file, line: 1, col: 1, message: `YAML: ${(e as Error).message}` });
    }
    this.fatal = fatal;
    this.value = value ?? null;
  }

  /** Position of an offset in the text. */
  pos(offset: number): { line: number; col: number } {
    return this.lines.linePos(Math.min(Math.max(offset, 0), this.text.length));
  }

  /** The node at a path, or the deepest existing ancestor (and how many path parts were found). */
  private locate(path: ValuePath): { node: Node | null; depth: number; keyOffset?: number } {
    let node: unknown = this.doc.contents;
    let keyOffset: number | undefined;
    let depth = 0;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && keyText(it.key) === String(part));
        if (!pair) break;
        keyOffset = (pair.key as Node | null)?.range?.[0];
        node = pair.value;
        if (node == null) {
          // `key:` with no value: the key itself is the best place
          return { node: (pair.key as Node) ?? null, depth: depth + 1, keyOffset };
        }
      } else if (isSeq(node) && typeof part === "number") {
        const item = node.items[part];
        if (item == null) break;
        keyOffset = undefined;
        node = item;
      } else {
        break;
      }
      depth++;
    }
    return { node: (node as Node | null) ?? null, depth, keyOffset };
  }

  /**
   * `line:col` of a path. With `key: true` the position of the map key naming the last path part (so an
   * unknown or misplaced key is pointed at itself); otherwise the position of the value. A path that does not
   * exist resolves to its deepest existing ancestor.
   */
  at(path: ValuePath, opts: { key?: boolean } = {}): { line: number; col: number } {
    const found = this.locate(path);
    if (opts.key && found.depth === path.length && found.keyOffset !== undefined) return this.pos(found.keyOffset);
    const off = found.node?.range?.[0];
    if (off === undefined) return { line: 1, col: 1 };
    return this.pos(off);
  }

  /** Position of key `k` inside the map at `path` (for "unknown key" reports). */
  keyAt(path: ValuePath, k: string): { line: number; col: number } {
    return this.at([...path, k], { key: true });
  }

  problem(path: ValuePath, message: string, opts: { key?: boolean; severity?: Severity } = {}): SourceProblem {
    const { line, col } = this.at(path, opts);
    const p: SourceProblem = { file: this.file, line, col, message };
    if (opts.severity === "warning") p.severity = "warning";
    return p;
  }

  /** Converts a zod error into problems located in this file. */
  zodProblems(err: ZodError): SourceProblem[] {
    const out: SourceProblem[] = [];
    for (const issue of err.issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
      if (issue.code === "unrecognized_keys") {
        for (const k of issue.keys) {
          out.push(this.problemAtKey(path, k, `unknown key "${k}"${where(path)}`));
        }
        continue;
      }
      out.push(this.problem(path, describeIssue(issue, path, this.has(path)), { key: false }));
    }
    return dedupe(sortProblems(out));
  }

  private problemAtKey(path: ValuePath, k: string, message: string): SourceProblem {
    const { line, col } = this.keyAt(path, k);
    return { file: this.file, line, col, message };
  }

  /** Whether the path exists in the document. */
  has(path: ValuePath): boolean {
    const found = this.locate(path);
    return found.depth === path.length;
  }
}

function keyText(k: unknown): string | undefined {
  if (isScalar(k)) return String(k.value);
  if (k == null) return undefined;
  return String(k);
}

function where(path: ValuePath): string {
  return path.length ? ` in ${pathText(path)}` : " at top level";
}

export function pathText(path: ValuePath): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${p}` : p;
  return out || "(top level)";
}

interface LooseIssue {
  code: string;
  message: string;
  expected?: string;
  values?: unknown[];
  minimum?: number | bigint;
  maximum?: number | bigint;
  origin?: string;
  input?: unknown;
}

function describeIssue(issue: LooseIssue, path: ValuePath, exists: boolean): string {
  const name = pathText(path);
  if (!exists && ["invalid_type", "invalid_value", "invalid_union"].includes(issue.code)) {
    return `missing required key "${path[path.length - 1]}"${where(path.slice(0, -1))}`;
  }
  switch (issue.code) {
    case "invalid_type":
      return `${name}: expected ${EXPECTED_WORDS[issue.expected ?? ""] ?? issue.expected}${describeInput(issue.input)}`;
    case "invalid_value":
      if (issue.values?.length === 1) return `${name}: must be ${JSON.stringify(issue.values[0])}`;
      if (issue.values) return `${name}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
      return `${name}: ${issue.message}`;
    case "too_small":
      return `${name}: ${issue.origin === "array" ? "needs at least" : "must be at least"} ${String(issue.minimum)}${issue.origin === "array" ? " item(s)" : issue.origin === "string" ? " character(s)" : ""}`;
    case "too_big":
      return `${name}: must be at most ${String(issue.maximum)}${issue.origin === "string" ? " character(s)" : ""}`;
    default:
      return `${name}: ${issue.message}`;
  }
}

const EXPECTED_WORDS: Record<string, string> = { record: "a mapping", object: "a mapping", array: "a list" };

function describeInput(input: unknown): string {
  if (input === undefined) return "";
  if (input === null) return ", got null";
  if (Array.isArray(input)) return ", got a list";
  if (typeof input === "object") return ", got a mapping";
  return `, got ${typeof input}`;
}

export function sortProblems(ps: SourceProblem[]): SourceProblem[] {
  return [...ps].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

function dedupe(ps: SourceProblem[]): SourceProblem[] {
  const seen = new Set<string>();
  return ps.filter((p) => {
    const k = formatProblem(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
