// MySQL shape keys: the statement text with every literal token (strings joined with their adjacent
// strings, numbers, hex and bit literals) and every comment replaced by a marker, from the lexer's tokens.

import type { ShapeKey, Span } from "../shape-key.js";
import { isLiteralToken, type MysqlLexResult } from "./lexer.js";

export function mysqlShapeKey(sql: string, lex: MysqlLexResult): ShapeKey {
  const regions: { start: number; end: number; marker: string }[] = [];
  const literals: Span[] = [];
  for (const t of lex.tokens) {
    if (!isLiteralToken(t)) continue;
    literals.push({ start: t.start, end: t.end });
    const marker =
      t.kind === "string"
        ? t.introducer
          ? `\u0000s_${t.introducer}`
          : "\u0000s"
        : t.kind === "number"
          ? "\u0000i"
          : "\u0000x";
    regions.push({ start: t.start, end: t.end, marker });
  }
  for (const c of lex.comments) regions.push({ start: c.start, end: c.end, marker: " " });
  regions.sort((a, b) => a.start - b.start);
  let key = "";
  let copied = 0;
  const segments: ShapeKey["segments"] = [];
  for (const r of regions) {
    key += sql.slice(copied, r.start);
    const keyStart = key.length;
    key += r.marker;
    segments.push({ start: r.start, end: r.end, keyStart, keyEnd: key.length });
    copied = r.end;
  }
  key += sql.slice(copied);
  return { key, literals, segments, exact: lex.exact && lex.executable.length === 0 };
}
