// A fast PostgreSQL lexer that finds only what shape keys need: literal tokens (string, escape string,
// dollar-quoted, bit strings, numbers), comments, quoted identifiers and parameters. It follows the
// server's scan.l rules with standard_conforming_strings = on (the gateway must enforce that setting).
// Constructs it does not model exactly mark the key inexact; the engine then never caches it.

import type { ShapeKey, Span } from "../shape-key.js";

const isIdentStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
const isIdentChar = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57) || c === 36;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isHorizSpace = (c: number) => c === 32 || c === 9 || c === 12 || c === 11;
const isSpace = (c: number) => isHorizSpace(c) || c === 10 || c === 13;

export function pgShapeKey(sql: string): ShapeKey {
  const n = sql.length;
  const literals: Span[] = [];
  const segments: ShapeKey["segments"] = [];
  let key = "";
  let copied = 0; // statement offset up to which text was appended to key
  let exact = true;
  const replace = (start: number, end: number, marker: string) => {
    key += sql.slice(copied, start);
    const keyStart = key.length;
    key += marker;
    segments.push({ start, end, keyStart, keyEnd: key.length });
    copied = end;
  };

  /** End of a quoted run starting at the opening quote `q` at i; backslash escapes when `backslash`. */
  const quoted = (i: number, q: number, backslash: boolean, doubling = true): number => {
    let j = i + 1;
    for (;;) {
      if (j >= n) {
        exact = false;
        return n;
      }
      const c = sql.charCodeAt(j);
      if (backslash && c === 92) {
        j += 2;
        continue;
      }
      if (c === q) {
        if (doubling && sql.charCodeAt(j + 1) === q) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      j++;
    }
  };

  /** scan.l quotecontinue: quote, horizontal space, a newline, more whitespace, then a quote. */
  const continuation = (j: number): number => {
    let k = j;
    while (k < n && isHorizSpace(sql.charCodeAt(k))) k++;
    if (k >= n || (sql.charCodeAt(k) !== 10 && sql.charCodeAt(k) !== 13)) return -1;
    while (k < n && isSpace(sql.charCodeAt(k))) k++;
    // scan.l allows `--` comments inside a continuation, libpg-query's scanner does not: never guess
    if (sql.startsWith("--", k)) exact = false;
    return sql.charCodeAt(k) === 39 ? k : -1;
  };

  /** `doubling`: '' is an escaped quote (not in bit strings, scan.l xb/xh states). */
  const stringLiteral = (
    start: number,
    quoteAt: number,
    backslash: boolean,
    marker: string,
    doubling = true,
  ): number => {
    let end = quoted(quoteAt, 39, backslash, doubling);
    for (;;) {
      const next = continuation(end);
      if (next < 0) break;
      end = quoted(next, 39, backslash, doubling);
    }
    literals.push({ start, end });
    replace(start, end, marker);
    return end;
  };

  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const c1 = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
    if (c === 0) {
      exact = false;
      i++;
    } else if (c === 45 && c1 === 45) {
      let j = i + 2;
      while (j < n && sql.charCodeAt(j) !== 10 && sql.charCodeAt(j) !== 13) j++;
      replace(i, j, " ");
      i = j;
    } else if (c === 47 && c1 === 42) {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql.charCodeAt(j) === 47 && sql.charCodeAt(j + 1) === 42) {
          depth++;
          j += 2;
        } else if (sql.charCodeAt(j) === 42 && sql.charCodeAt(j + 1) === 47) {
          depth--;
          j += 2;
        } else j++;
      }
      if (depth > 0) exact = false;
      replace(i, j, " ");
      i = j;
    } else if (c === 39) {
      i = stringLiteral(i, i, false, "\u0000s");
    } else if ((c === 69 || c === 101) && c1 === 39) {
      i = stringLiteral(i, i + 1, true, "\u0000s");
    } else if ((c === 66 || c === 98 || c === 88 || c === 120) && c1 === 39) {
      i = stringLiteral(i, i + 1, false, c === 66 || c === 98 ? "\u0000b" : "\u0000x", false);
    } else if ((c === 85 || c === 117) && c1 === 38) {
      // U&'…' / U&"…" with optional UESCAPE: modelled by the real scanner only.
      exact = false;
      i += 2;
    } else if (c === 34) {
      i = quoted(i, 34, false);
    } else if (c === 36) {
      if (isDigit(c1)) {
        let j = i + 1;
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        if (j < n && isIdentChar(sql.charCodeAt(j))) exact = false; // "trailing junk after parameter"
        i = j;
      } else {
        // dollar quote $tag$ … $tag$ (tag: identifier without '$')
        let j = i + 1;
        if (j < n && isIdentStart(sql.charCodeAt(j))) {
          j++;
          while (j < n && isIdentChar(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 36) j++;
        }
        if (sql.charCodeAt(j) === 36) {
          const tag = sql.slice(i, j + 1);
          const close = sql.indexOf(tag, j + 1);
          const end = close < 0 ? n : close + tag.length;
          if (close < 0) exact = false;
          literals.push({ start: i, end });
          replace(i, end, "\u0000s");
          i = end;
        } else {
          i++;
        }
      }
    } else if (c === 46 && c1 === 46) {
      i += 2; // DOT_DOT token
    } else if (isDigit(c) || (c === 46 && isDigit(c1))) {
      const start = i;
      let j = i;
      let real = false;
      if (c === 48 && (c1 === 120 || c1 === 88 || c1 === 111 || c1 === 79 || c1 === 98 || c1 === 66)) {
        j += 2;
        while (j < n && isIdentChar(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 36) j++;
      } else {
        while (j < n && (isDigit(sql.charCodeAt(j)) || sql.charCodeAt(j) === 95)) j++;
        if (sql.charCodeAt(j) === 46 && sql.charCodeAt(j + 1) !== 46) {
          real = true;
          j++;
          while (j < n && (isDigit(sql.charCodeAt(j)) || sql.charCodeAt(j) === 95)) j++;
        }
        const e = sql.charCodeAt(j);
        if (e === 101 || e === 69) {
          const s = sql.charCodeAt(j + 1);
          const d = s === 43 || s === 45 ? j + 2 : j + 1;
          if (isDigit(sql.charCodeAt(d))) {
            real = true;
            j = d;
            while (j < n && (isDigit(sql.charCodeAt(j)) || sql.charCodeAt(j) === 95)) j++;
          }
        }
      }
      if (j < n && isIdentChar(sql.charCodeAt(j))) exact = false; // trailing junk: the server rejects it
      literals.push({ start, end: j });
      replace(start, j, real ? "\u0000f" : "\u0000i");
      i = j;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentChar(sql.charCodeAt(j))) j++;
      i = j;
    } else {
      i++;
    }
  }
  key += sql.slice(copied);
  return { key, literals, segments, exact };
}
