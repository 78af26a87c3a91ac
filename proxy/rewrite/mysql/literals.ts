// MySQL literal tokens: decoding a literal token's value (default sql_mode: backslash escapes on) and
// quoting values as literals that read the same with or without NO_BACKSLASH_ESCAPES.

const ESCAPES: Record<string, string> = {
  "0": "\u0000",
  b: "\b",
  n: "\n",
  r: "\r",
  t: "\t",
  Z: "\u001a",
  // \% and \_ keep their backslash (they matter to LIKE only)
  "%": "\\%",
  _: "\\_",
};

/** One or more adjacent quoted pieces (`'a' "b"`), each with backslash escapes and doubled quotes. */
function decodeQuoted(t: string): string {
  let out = "";
  let i = 0;
  while (i < t.length) {
    const q = t[i];
    if (q !== "'" && q !== '"') {
      i++;
      continue;
    }
    i++;
    for (; i < t.length; i++) {
      const c = t[i];
      if (c === "\\") {
        const d = t[++i] ?? "";
        out += ESCAPES[d] ?? d;
      } else if (c === q) {
        if (t[i + 1] === q) {
          out += q;
          i++;
        } else {
          i++;
          break;
        }
      } else out += c;
    }
  }
  return out;
}

/** The value of a literal token as the server reads it (hex / bit literals as UTF-8 text of their bytes). */
export function decodeMysqlLiteral(token: string): string {
  const t = token;
  let m = /^_[a-zA-Z0-9]+\s*/.exec(t);
  if (m) return decodeQuoted(t.slice(m[0].length));
  if (/^[nN]'/.test(t)) return decodeQuoted(t.slice(1));
  if (t.startsWith("'") || t.startsWith('"')) return decodeQuoted(t);
  m = /^[xX]'([0-9a-fA-F]*)'$/.exec(t) ?? /^0x([0-9a-fA-F]+)$/.exec(t);
  if (m) return Buffer.from(m[1].length % 2 ? `0${m[1]}` : m[1], "hex").toString("utf8");
  m = /^[bB]'([01]*)'$/.exec(t) ?? /^0b([01]+)$/.exec(t);
  if (m) {
    const bits = m[1] || "0";
    const bytes: number[] = [];
    const padded = bits.padStart(Math.ceil(bits.length / 8) * 8, "0");
    for (let i = 0; i < padded.length; i += 8) bytes.push(Number.parseInt(padded.slice(i, i + 8), 2));
    return Buffer.from(bytes).toString("utf8");
  }
  return t;
}

/**
 * A literal holding `value` exactly. Values with a backslash or NUL are written as X'…' (UTF-8 bytes), which
 * reads the same whether or not the session has NO_BACKSLASH_ESCAPES; others as '…' with '' for quotes.
 */
export function quoteMysqlLiteral(value: string): string {
  if (value.includes("\\") || value.includes("\u0000"))
    return `X'${Buffer.from(value, "utf8").toString("hex").toUpperCase()}'`;
  return `'${value.replace(/'/g, "''")}'`;
}

const MYSQL_PLAIN_IDENT = /^[a-z_][a-z0-9_]*$/;

/** Backtick quoting unless the name is a plain lower-case identifier (companion column names usually are). */
export function quoteMysqlIdent(name: string): string {
  return MYSQL_PLAIN_IDENT.test(name) && !RESERVED.has(name) ? name : `\`${name.replace(/`/g, "``")}\``;
}

/** Reserved words that cannot be bare identifiers (the subset plausible as column names). */
const RESERVED = new Set([
  "add",
  "all",
  "and",
  "as",
  "by",
  "case",
  "check",
  "column",
  "default",
  "delete",
  "desc",
  "distinct",
  "from",
  "group",
  "having",
  "in",
  "index",
  "insert",
  "interval",
  "is",
  "key",
  "keys",
  "like",
  "limit",
  "not",
  "null",
  "on",
  "or",
  "order",
  "range",
  "rank",
  "select",
  "set",
  "table",
  "to",
  "update",
  "use",
  "using",
  "values",
  "where",
  "with",
]);
