// One MySQL statement prepared for node-sql-parser: literals and `?` placeholders replaced by markers that
// carry their ordinal (numbers → ordinal + 1, so a sign never folds into 0; strings → '<ordinal + 1>';
// hex / bit → X'<ordinal + 1 in hex>'; placeholders → PARAM_BASE + n) and comments blanked, so the AST tells exactly which token each constant
// node is and parser errors never quote a value. Offsets map back to the original text.

import { isLiteralToken, type MysqlToken } from "./lexer.js";

export const PARAM_BASE = 1_000_000_000;

/** Operator pairs node-sql-parser would read as a comment opener or closer when written together. */
const GLUED = /^(?:--|\/\*|\*\/)$/;

export interface StatementSource {
  /** Text handed to the parser. */
  text: string;
  /** Token index range [from, to) of the statement in the whole text's token list. */
  from: number;
  to: number;
  /** Parser offset → original offset. */
  toOriginal(offset: number): number;
}

/**
 * `tokens`: the whole text's tokens; `literalOrdinal`/`paramNumber` give each literal / placeholder token
 * index its global ordinal / number. Comments are not tokens, so they vanish (replaced by whitespace).
 */
export function statementSource(
  sql: string,
  tokens: MysqlToken[],
  from: number,
  to: number,
  literalOrdinal: Map<number, number>,
  paramNumber: Map<number, number>,
  prefix = "",
  /** Token indexes left out of the parser text (modifiers and index hints that move no values). */
  skip: ReadonlySet<number> = new Set(),
): StatementSource {
  let text = prefix;
  // segments: original [start,end) ↔ parser [subStart,subEnd)
  const segs: { index: number; subStart: number }[] = [];
  const base = tokens[from]?.start ?? 0;
  let pos = base;
  for (let i = from; i < to; i++) {
    const t = tokens[i];
    if (skip.has(i)) continue;
    // whitespace and comments between tokens become one space; so does nothing between two operators that
    // the parser would read as one token (node-sql-parser takes `--` as a comment even without a space)
    const prev = tokens[i - 1];
    if (skip.has(i - 1)) text += " ";
    const glued = i > from && prev.kind === "op" && t.kind === "op" && GLUED.test(prev.text.slice(-1) + t.text[0]);
    if (t.start > pos || i === from || glued) text += " ";
    segs.push({ index: i, subStart: text.length });
    if (isLiteralToken(t)) {
      const k = literalOrdinal.get(i)! + 1;
      if (t.kind === "number") text += String(k);
      else if (t.kind === "string") text += `'${k}'`;
      else {
        const h = k.toString(16);
        text += `X'${h.length % 2 ? `0${h}` : h}'`;
      }
    } else if (t.kind === "param") {
      text += String(PARAM_BASE + paramNumber.get(i)!);
    } else if (t.kind === "var" && /['"`]/.test(t.text)) {
      text += "@v"; // @'…' quoted variable names: the parser's quoting rules are not the server's
    } else text += sql.slice(t.start, t.end);
    pos = t.end;
  }
  const toOriginal = (offset: number): number => {
    // the token whose parser text starts at or before offset
    let lo = 0;
    let hi = segs.length - 1;
    if (hi < 0) return base;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid].subStart <= offset) lo = mid;
      else hi = mid - 1;
    }
    const s = segs[lo];
    const t = tokens[s.index];
    const within = Math.max(0, offset - s.subStart);
    // inside a replaced token: its start; inside a copied token: the same distance into it
    return isLiteralToken(t) || t.kind === "param" ? t.start : Math.min(t.start + within, t.end);
  };
  return { text, from, to, toOriginal };
}
