// The real PostgreSQL scanner's tokens (libpg-query scanSync) with character offsets, and the small
// navigation helpers the AST converter needs to find where names, lists and clauses end.

import { scanSync } from "libpg-query";

export const TOK = {
  IDENT: 258,
  UIDENT: 259,
  FCONST: 260,
  SCONST: 261,
  USCONST: 262,
  BCONST: 263,
  XCONST: 264,
  OP: 265,
  ICONST: 266,
  PARAM: 267,
  SQL_COMMENT: 275,
  C_COMMENT: 276,
} as const;

const LITERAL_TYPES = new Set<number>([TOK.FCONST, TOK.SCONST, TOK.USCONST, TOK.BCONST, TOK.XCONST, TOK.ICONST]);

export interface PgToken {
  start: number;
  end: number;
  type: number;
  /** Upper-cased text for keywords, raw text otherwise. */
  text: string;
  keyword: boolean;
}

/** Byte offset (UTF-8, as libpg-query reports) → character offset. Identity for ASCII text. */
export function byteToCharMapper(sql: string): (byte: number) => number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII range test
  if (/^[\u0000-\u007f]*$/.test(sql)) return (b) => b;
  const bytes = Buffer.byteLength(sql, "utf8");
  const map = new Int32Array(bytes + 1);
  let b = 0;
  for (let i = 0; i < sql.length; i++) {
    const cp = sql.codePointAt(i)!;
    const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < len; k++) map[b + k] = i;
    b += len;
    if (cp >= 0x10000) i++;
  }
  map[bytes] = sql.length;
  return (byte) => (byte < 0 ? byte : map[Math.min(byte, bytes)]);
}

export class PgTokens {
  readonly tokens: PgToken[];

  constructor(sql: string, b2c: (b: number) => number) {
    this.tokens = scanSync(sql)
      .tokens.filter((t) => t.tokenType !== TOK.SQL_COMMENT && t.tokenType !== TOK.C_COMMENT)
      .map((t) => ({
        start: b2c(t.start),
        end: b2c(t.end),
        type: t.tokenType,
        text: t.keywordKind !== 0 ? t.text.toUpperCase() : t.text,
        keyword: t.keywordKind !== 0,
      }));
  }

  literalSpans(): { start: number; end: number }[] {
    return this.tokens.filter((t) => LITERAL_TYPES.has(t.type)).map((t) => ({ start: t.start, end: t.end }));
  }

  /** Index of the first token starting at or after `offset`. */
  indexAt(offset: number): number {
    let lo = 0;
    let hi = this.tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.tokens[mid].start < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  at(i: number): PgToken | undefined {
    return this.tokens[i];
  }

  isNamePart(t: PgToken | undefined): boolean {
    return !!t && (t.type === TOK.IDENT || t.keyword || t.text === "*");
  }

  /** For a dotted name starting at `offset`: [index of the last part, end offset]. */
  nameAt(offset: number): { lastIndex: number; end: number } {
    let i = this.indexAt(offset);
    while (this.tokens[i + 1]?.text === "." && this.isNamePart(this.tokens[i + 2])) i += 2;
    return { lastIndex: i, end: this.tokens[i]?.end ?? offset };
  }

  /** Index of the parenthesis closing the one at index `open`, or -1. */
  closeParen(open: number): number {
    let depth = 0;
    for (let i = open; i < this.tokens.length; i++) {
      const t = this.tokens[i].text;
      if (t === "(" || t === "[") depth++;
      else if (t === ")" || t === "]") {
        depth--;
        if (depth === 0) return i;
      }
    }
    return -1;
  }

  /**
   * Walking from token index `from` at parenthesis depth 0, the index of the first keyword in `stops`, a closing
   * parenthesis that leaves the level, or ';' (tokens.length when none).
   */
  clauseEnd(from: number, stops: ReadonlySet<string>): number {
    let depth = 0;
    for (let i = from; i < this.tokens.length; i++) {
      const t = this.tokens[i];
      if (t.text === "(" || t.text === "[") depth++;
      else if (t.text === ")" || t.text === "]") {
        if (depth === 0) return i;
        depth--;
      } else if (depth === 0 && (t.text === ";" || (t.keyword && stops.has(t.text)))) return i;
    }
    return this.tokens.length;
  }
}
