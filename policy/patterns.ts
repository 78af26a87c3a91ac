// Name patterns used in access rules: tables `schema.table` and columns `schema.table.column`, each segment a
// literal or `*`, or `*` alone for everything. Names compare case-insensitively (lower-cased).

export interface NamePattern {
  text: string;
  /** lower-cased segments; "*" matches any one segment */
  segments: string[];
  /** number of literal segments: more is more specific */
  specificity: number;
}

const SEGMENT = /^(\*|[^.*\s]+)$/;

/** Parses a table (2 segments) or column (3 segments) pattern; returns an error string when malformed. */
export function parsePattern(text: string, kind: "table" | "column"): NamePattern | string {
  const want = kind === "table" ? 2 : 3;
  const t = text.trim();
  if (t === "*") return { text: t, segments: new Array(want).fill("*"), specificity: 0 };
  const segs = t.split(".");
  const shape = kind === "table" ? "schema.table" : "schema.table.column";
  if (segs.length !== want || !segs.every((s) => SEGMENT.test(s))) {
    return `"${text}" is not a ${kind} pattern: expected ${shape} (each part a name or *), or *`;
  }
  const lower = segs.map((s) => s.toLowerCase());
  return { text: t, segments: lower, specificity: lower.filter((s) => s !== "*").length };
}

export function patternMatches(p: NamePattern, names: readonly string[]): boolean {
  for (let i = 0; i < p.segments.length; i++) {
    const s = p.segments[i];
    if (s !== "*" && s !== names[i]) return false;
  }
  return true;
}

/** True when the pattern has no wildcard. */
export function isLiteral(p: NamePattern): boolean {
  return p.specificity === p.segments.length;
}

/** Splits "schema.table" (lower-cased); undefined when not exactly two non-empty parts. */
export function splitTable(schemaTable: string): [string, string] | undefined {
  const i = schemaTable.indexOf(".");
  if (i <= 0 || i === schemaTable.length - 1 || schemaTable.indexOf(".", i + 1) >= 0) return undefined;
  return [schemaTable.slice(0, i).toLowerCase(), schemaTable.slice(i + 1).toLowerCase()];
}
