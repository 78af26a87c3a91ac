// PostgreSQL literal tokens: decoding a literal token's value and quoting values as literals.

/** Decodes a literal token (standard_conforming_strings = on) into the value text the server would see. */
export function decodePgLiteral(token: string): string {
  const t = token;
  if (t.startsWith("'")) return decodeQuoted(t, false);
  if (/^[eE]'/.test(t)) return decodeQuoted(t.slice(1), true);
  if (t.startsWith("$")) {
    const tagEnd = t.indexOf("$", 1);
    return t.slice(tagEnd + 1, t.length - (tagEnd + 1));
  }
  if (/^[bBxX]'/.test(t)) return t.slice(2, -1);
  return t.replace(/_/g, ""); // numbers: the server's text form drops digit separators
}

/** One or more quoted pieces joined by quote continuation (whitespace with a newline). */
function decodeQuoted(t: string, backslash: boolean): string {
  let out = "";
  let i = 0;
  while (i < t.length) {
    if (t[i] !== "'") {
      i++;
      continue;
    }
    i++;
    for (; i < t.length; i++) {
      const c = t[i];
      if (backslash && c === "\\") {
        const d = t[++i];
        const simple: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
        if (d in simple) out += simple[d];
        else if (/[0-7]/.test(d)) {
          const m = /^[0-7]{1,3}/.exec(t.slice(i))![0];
          out += String.fromCharCode(Number.parseInt(m, 8));
          i += m.length - 1;
        } else if (d === "x" && /^[0-9a-fA-F]/.test(t[i + 1] ?? "")) {
          const m = /^[0-9a-fA-F]{1,2}/.exec(t.slice(i + 1))![0];
          out += String.fromCharCode(Number.parseInt(m, 16));
          i += m.length;
        } else if (d === "u" || d === "U") {
          const len = d === "u" ? 4 : 8;
          out += String.fromCodePoint(Number.parseInt(t.slice(i + 1, i + 1 + len), 16));
          i += len;
        } else out += d;
      } else if (c === "'") {
        if (t[i + 1] === "'") {
          out += "'";
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

export function quotePgLiteral(value: string): string {
  if (value.includes("\u0000")) throw new RangeError("NUL cannot appear in a PostgreSQL text literal");
  return `'${value.replace(/'/g, "''")}'`;
}

export function quotePgIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
