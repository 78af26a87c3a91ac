// A MySQL/MariaDB lexer modelled on the server's sql_lex.cc rules for the default sql_mode: '…' and "…"
// strings with backslash escapes (NO_BACKSLASH_ESCAPES off, ANSI_QUOTES off), adjacent strings joined into
// one literal, charset introducers (_utf8mb4'…', N'…'), X'…'/0x… hex and B'…'/0b… bit literals, numbers
// (identifiers may start with digits), `…` identifiers, `?` placeholders, @user / @@system variables, and
// #, `-- `, /* */ comments. Executable comments (/*! … */, /*M! … */) are lexed as code and flagged.
// Constructs it does not model exactly make the result inexact (never cached, never rewritten).

export type MysqlTokenKind =
  | "word" // unquoted identifier or keyword
  | "qident" // `quoted identifier`
  | "string" // '…' / "…" / N'…' (adjacent strings joined), possibly with a charset introducer
  | "number"
  | "hex" // X'…' or 0x…
  | "bit" // B'…' or 0b…
  | "param" // ?
  | "var" // @name, @@name, @'name'
  | "op"; // punctuation and operators

export interface MysqlToken {
  kind: MysqlTokenKind;
  start: number;
  end: number;
  /** Upper-cased text for words, the identifier for qident, raw text otherwise. */
  text: string;
  /** Words: the text as written (names keep their case). */
  raw?: string;
  /** string: a charset introducer (`_utf8mb4`, `_binary`) precedes the quote. */
  introducer?: string;
}

export interface MysqlLexResult {
  tokens: MysqlToken[];
  /** Comment spans (not executable ones), in source order. */
  comments: { start: number; end: number }[];
  /** Spans of the `/*!NNNNN` openers and `*\/` closers of executable comments. */
  executable: { start: number; end: number }[];
  exact: boolean;
}

const LITERAL_KINDS = new Set<MysqlTokenKind>(["string", "number", "hex", "bit"]);
export const isLiteralToken = (t: MysqlToken): boolean => LITERAL_KINDS.has(t.kind);

/** Character sets usable as introducers (`_name'…'`); others make `_name` an identifier. */
const CHARSETS = new Set([
  "armscii8",
  "ascii",
  "big5",
  "binary",
  "cp1250",
  "cp1251",
  "cp1256",
  "cp1257",
  "cp850",
  "cp852",
  "cp866",
  "cp932",
  "dec8",
  "eucjpms",
  "euckr",
  "gb18030",
  "gb2312",
  "gbk",
  "geostd8",
  "greek",
  "hebrew",
  "hp8",
  "keybcs2",
  "koi8r",
  "koi8u",
  "latin1",
  "latin2",
  "latin5",
  "latin7",
  "macce",
  "macroman",
  "sjis",
  "swe7",
  "tis620",
  "ucs2",
  "ujis",
  "utf16",
  "utf16le",
  "utf32",
  "utf8",
  "utf8mb3",
  "utf8mb4",
]);

const isIdentChar = (c: number) =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c >= 128;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;

const NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX_NUMBER = /^0x[0-9a-fA-F]+$/;
const BIT_NUMBER = /^0b[01]+$/;

/** Multi-character operators, longest first. */
const OPERATORS = ["<=>", "<<", ">>", "<=", ">=", "<>", "!=", ":=", "&&", "||", "->>", "->"];

export function lexMysql(sql: string): MysqlLexResult {
  const n = sql.length;
  const tokens: MysqlToken[] = [];
  const comments: { start: number; end: number }[] = [];
  const executable: { start: number; end: number }[] = [];
  let exact = true;
  let inExecutable = false;

  /** End of a quoted run opened at i by quote char q (backslash escapes; doubled quote escapes itself). */
  const quoted = (i: number, q: number, backslash: boolean): number => {
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
        if (sql.charCodeAt(j + 1) === q) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      j++;
    }
  };

  /** A string starting at the quote at i, joined with directly following strings (whitespace only between). */
  const stringRun = (start: number, quoteAt: number, introducer?: string): number => {
    let end = quoted(quoteAt, sql.charCodeAt(quoteAt), true);
    for (;;) {
      let k = end;
      while (k < n && isSpace(sql.charCodeAt(k))) k++;
      const c = sql.charCodeAt(k);
      if (k > end && (c === 39 || c === 34)) end = quoted(k, c, true);
      else if (k === end && (c === 39 || c === 34)) end = quoted(k, c, true);
      else {
        // a string after comments: the server's grammar joins it too; not modelled, never cache or rewrite
        if (stringAfterComments(sql, k)) exact = false;
        break;
      }
    }
    tokens.push({ kind: "string", start, end, text: sql.slice(start, end), ...(introducer ? { introducer } : {}) });
    return end;
  };

  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const c1 = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
    if (isSpace(c)) {
      i++;
    } else if (c === 0) {
      exact = false;
      i++;
    } else if (
      c === 35 ||
      (c === 45 && c1 === 45 && (i + 2 >= n || isSpace(sql.charCodeAt(i + 2)) || sql.charCodeAt(i + 2) < 32))
    ) {
      let j = i + 1;
      while (j < n && sql.charCodeAt(j) !== 10) j++;
      comments.push({ start: i, end: j });
      i = j;
    } else if (c === 47 && c1 === 42) {
      const bang = sql.charCodeAt(i + 2) === 33;
      const mBang = (sql.charCodeAt(i + 2) === 77 || sql.charCodeAt(i + 2) === 109) && sql.charCodeAt(i + 3) === 33;
      if ((bang || mBang) && !inExecutable) {
        let j = i + (bang ? 3 : 4);
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        executable.push({ start: i, end: j });
        inExecutable = true;
        i = j;
        continue;
      }
      const close = sql.indexOf("*/", i + 2);
      const end = close < 0 ? n : close + 2;
      if (close < 0) exact = false;
      comments.push({ start: i, end });
      i = end;
    } else if (c === 42 && c1 === 47 && inExecutable) {
      executable.push({ start: i, end: i + 2 });
      inExecutable = false;
      i += 2;
    } else if (c === 39 || c === 34) {
      i = stringRun(i, i);
    } else if (c === 96) {
      const end = quoted(i, 96, false);
      tokens.push({ kind: "qident", start: i, end, text: sql.slice(i + 1, end - 1).replace(/``/g, "`") });
      i = end;
    } else if ((c === 78 || c === 110) && c1 === 39) {
      i = stringRun(i, i + 1);
    } else if ((c === 88 || c === 120 || c === 66 || c === 98) && c1 === 39) {
      const close = sql.indexOf("'", i + 2);
      const end = close < 0 ? n : close + 1;
      const body = sql.slice(i + 2, end - 1);
      const hex = c === 88 || c === 120;
      if (close < 0 || !(hex ? /^[0-9a-fA-F]*$/.test(body) && body.length % 2 === 0 : /^[01]*$/.test(body)))
        exact = false;
      tokens.push({ kind: hex ? "hex" : "bit", start: i, end, text: sql.slice(i, end) });
      i = end;
    } else if (c === 63) {
      tokens.push({ kind: "param", start: i, end: i + 1, text: "?" });
      i++;
    } else if (c === 64) {
      let j = i + 1;
      if (sql.charCodeAt(j) === 64) j++;
      const q = sql.charCodeAt(j);
      if (q === 39 || q === 34 || q === 96) j = quoted(j, q, q !== 96);
      else while (j < n && (isIdentChar(sql.charCodeAt(j)) || sql.charCodeAt(j) === 46)) j++;
      tokens.push({ kind: "var", start: i, end: j, text: sql.slice(i, j) });
      i = j;
    } else if (isIdentChar(c) || (c === 46 && isDigit(c1) && !afterName(tokens, i))) {
      // a run of identifier characters (with a decimal part / exponent for numbers)
      let j = i;
      while (j < n && isIdentChar(sql.charCodeAt(j))) j++;
      let text = sql.slice(i, j);
      if (/^\d*$/.test(text) && sql.charCodeAt(j) === 46 && !afterName(tokens, i)) {
        // decimal point (and fraction / exponent)
        let k = j + 1;
        while (k < n && isIdentChar(sql.charCodeAt(k))) k++;
        const frac = sql.slice(i, k);
        if (/^\d*\.\d*(?:[eE]\d*)?$/.test(frac)) {
          j = k;
          text = frac;
        }
      }
      if (
        /^(?:\d+\.?\d*|\.\d+)[eE]$/.test(text) &&
        (sql[j] === "+" || sql[j] === "-") &&
        isDigit(sql.charCodeAt(j + 1))
      ) {
        j += 1;
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        text = sql.slice(i, j);
      }
      if (j === i) {
        // a '.' that does not start a number after all (".5x"): the dot operator, not modelled exactly
        exact = false;
        tokens.push({ kind: "op", start: i, end: i + 1, text: "." });
        i++;
        continue;
      }
      const lower = text.toLowerCase();
      if (lower.startsWith("_") && CHARSETS.has(lower.slice(1))) {
        let k = j;
        while (k < n && isSpace(sql.charCodeAt(k))) k++;
        const q = sql.charCodeAt(k);
        if (q === 39 || q === 34) {
          i = stringRun(i, k, lower.slice(1));
          continue;
        }
        if ((q === 88 || q === 120 || q === 66 || q === 98) && sql.charCodeAt(k + 1) === 39) exact = false;
      }
      if (afterName(tokens, i) && sql.charCodeAt(i - 1) === 46) {
        tokens.push({ kind: "word", start: i, end: j, text: text.toUpperCase(), raw: text });
      } else if (HEX_NUMBER.test(text)) tokens.push({ kind: "hex", start: i, end: j, text });
      else if (BIT_NUMBER.test(text)) tokens.push({ kind: "bit", start: i, end: j, text });
      else if (NUMBER.test(text)) tokens.push({ kind: "number", start: i, end: j, text });
      else {
        if (isDigit(c) && /^\d+[eE]/.test(text)) exact = false; // 1e5x-like runs: identifier or error, never guess
        tokens.push({ kind: "word", start: i, end: j, text: text.toUpperCase(), raw: text });
      }
      i = j;
    } else if (c === 92 && (c1 === 78 || c1 === 110)) {
      // \N: a NULL synonym the parser does not model
      exact = false;
      tokens.push({ kind: "op", start: i, end: i + 2, text: "\\N" });
      i += 2;
    } else {
      const op = OPERATORS.find((o) => sql.startsWith(o, i));
      const len = op ? op.length : 1;
      tokens.push({ kind: "op", start: i, end: i + len, text: sql.slice(i, i + len) });
      i += len;
    }
  }
  if (inExecutable) exact = false;
  return { tokens, comments, executable, exact };
}

/** After whitespace and comments from offset k, does a quoted string follow? */
function stringAfterComments(sql: string, k: number): boolean {
  let i = k;
  for (;;) {
    while (i < sql.length && isSpace(sql.charCodeAt(i))) i++;
    if (sql.startsWith("/*", i) && sql[i + 2] !== "!") {
      const close = sql.indexOf("*/", i + 2);
      if (close < 0) return false;
      i = close + 2;
    } else if (sql[i] === "#" || (sql.startsWith("--", i) && (i + 2 >= sql.length || sql.charCodeAt(i + 2) <= 32))) {
      const nl = sql.indexOf("\n", i);
      if (nl < 0) return false;
      i = nl + 1;
    } else return sql[i] === "'" || sql[i] === '"';
  }
}

/** The token before offset i is a name directly followed by '.', so this run is a name part (t.1a, db.2t). */
function afterName(tokens: MysqlToken[], i: number): boolean {
  const prev = tokens[tokens.length - 1];
  const dot = tokens[tokens.length - 1];
  if (!prev) return false;
  if (dot.kind === "op" && dot.text === "." && dot.end === i) {
    const name = tokens[tokens.length - 2];
    return !!name && (name.kind === "word" || name.kind === "qident") && name.end === dot.start;
  }
  return false;
}
