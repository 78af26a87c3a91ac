// Navigation over the MySQL lexer's tokens (original offsets): where names, parenthesised lists, VALUES
// rows and clauses begin and end. node-sql-parser gives source locations for column references and
// function calls only, so everything the rewrite needs to splice at is found here.

import type { MysqlToken } from "./lexer.js";

export class MysqlTokens {
  constructor(readonly tokens: MysqlToken[]) {}

  at(i: number): MysqlToken | undefined {
    return this.tokens[i];
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

  isWord(i: number, ...words: string[]): boolean {
    const t = this.tokens[i];
    return !!t && t.kind === "word" && words.includes(t.text);
  }

  isOp(i: number, text: string): boolean {
    const t = this.tokens[i];
    return !!t && t.kind === "op" && t.text === text;
  }

  isName(i: number): boolean {
    const t = this.tokens[i];
    return !!t && (t.kind === "word" || t.kind === "qident" || (t.kind === "op" && t.text === "*"));
  }

  /** A dotted name starting at token index i: index of its last part. */
  nameEnd(i: number): number {
    let j = i;
    while (this.isOp(j + 1, ".") && this.isName(j + 2)) j += 2;
    return j;
  }

  /** Index of the parenthesis closing the one at index `open`, or -1. */
  closeParen(open: number, limit = this.tokens.length): number {
    let depth = 0;
    for (let i = open; i < limit; i++) {
      const t = this.tokens[i];
      if (t.kind !== "op") continue;
      if (t.text === "(") depth++;
      else if (t.text === ")") {
        depth--;
        if (depth === 0) return i;
      }
    }
    return -1;
  }

  /**
   * From index `from` at parenthesis depth 0: the first word in `stops`, a ')' leaving the level, ';', or
   * `limit`.
   */
  clauseEnd(from: number, stops: ReadonlySet<string>, limit = this.tokens.length): number {
    let depth = 0;
    for (let i = from; i < limit; i++) {
      const t = this.tokens[i];
      if (t.kind === "op" && t.text === "(") depth++;
      else if (t.kind === "op" && t.text === ")") {
        if (depth === 0) return i;
        depth--;
      } else if (depth === 0 && ((t.kind === "op" && t.text === ";") || (t.kind === "word" && stops.has(t.text))))
        return i;
    }
    return limit;
  }

  /** Walking left from index i (exclusive) at depth 0 to the nearest word `word`; -1 if none before `floor`. */
  findBack(i: number, word: string, floor = 0): number {
    let depth = 0;
    for (let j = i - 1; j >= floor; j--) {
      const t = this.tokens[j];
      if (t.kind === "op" && t.text === ")") depth++;
      else if (t.kind === "op" && t.text === "(") {
        if (depth > 0) depth--;
      } else if (depth === 0 && t.kind === "word" && t.text === word) return j;
    }
    return -1;
  }

  /** From index i (inclusive) at depth 0, the first word `word` before `limit`; -1 if none. */
  findForward(i: number, word: string, limit = this.tokens.length): number {
    let depth = 0;
    for (let j = i; j < limit; j++) {
      const t = this.tokens[j];
      if (t.kind === "op" && t.text === "(") depth++;
      else if (t.kind === "op" && t.text === ")") {
        if (depth === 0) return -1;
        depth--;
      } else if (depth === 0 && t.kind === "word" && t.text === word) return j;
    }
    return -1;
  }
}
