// The MySQL/MariaDB DialectAdapter: the MySQL lexer (lexer.ts) for literal positions, shape keys and
// statement boundaries; node-sql-parser's MariaDB grammar for structure, fed literal-free marker text
// (source.ts) so every constant in the AST is tied to its token; statements it cannot model are refused.
//
// Assumed session settings (the gateway must keep them or refuse to change them): sql_mode without
// ANSI_QUOTES ("…" is a string) and without NO_BACKSLASH_ESCAPES (backslash escapes in strings; spliced
// literals are written so they read the same either way), lower_case_table_names = 0 (table names
// case-sensitive, column names case-insensitive). The current database is the session's search path.

import pkg from "node-sql-parser/build/mariadb.js";
import type { DialectAdapter, ParsedText } from "../dialect.js";
import { SqlParseError, UnsupportedNode } from "../errors.js";
import type { Expr, Statement, TableRef } from "../ir.js";
import type { ShapeKey } from "../shape-key.js";
import { isLiteralToken, lexMysql, type MysqlLexResult, type MysqlToken } from "./lexer.js";
import { decodeMysqlLiteral, quoteMysqlIdent, quoteMysqlLiteral } from "./literals.js";
import { mysqlShapeKey } from "./shape.js";
import { statementSource } from "./source.js";
import { type ConvertInput, MysqlToIr, nameOf } from "./to-ir.js";
import { MysqlTokens } from "./tokens.js";

// biome-ignore lint/suspicious/noExplicitAny: node-sql-parser's AST is untyped JSON
type Any = any;

const { Parser } = pkg as { Parser: new () => { astify(sql: string, opt: object): Any } };
const PARSE_OPTIONS = { database: "MariaDB", parseOptions: { includeLocations: true } };

const TRANSACTION_WORDS = new Set(["BEGIN", "COMMIT", "ROLLBACK", "START", "SAVEPOINT", "RELEASE", "XA", "UNLOCK"]);
const SAFE_WORDS = new Set([
  "SHOW",
  "DESCRIBE",
  "DESC",
  "HELP",
  "DROP",
  "TRUNCATE",
  "LOCK",
  "GRANT",
  "REVOKE",
  "OPTIMIZE",
  "CHECK",
  "CHECKSUM",
  "REPAIR",
  "FLUSH",
  "KILL",
  "DEALLOCATE",
  "EXECUTE",
  "CALL",
  "RESET",
  "PURGE",
  "CACHE",
]);
const QUERY_WORDS = new Set(["SELECT", "INSERT", "REPLACE", "UPDATE", "DELETE", "WITH"]);
const STORED_CODE = new Set(["PROCEDURE", "FUNCTION", "TRIGGER", "EVENT"]);
/** Words that make the cheap pre-check analyse a text whatever names it mentions (dynamic SQL). */
const DYNAMIC_SQL = /(^|[^a-z0-9_$])(prepare|immediate|sql_mode)([^a-z0-9_$]|$)|\/\*m?!/;
/** sql_mode flags (and combination modes that include them) that change how statements are lexed. */
const LEXING_MODES = /\b(ANSI_QUOTES|NO_BACKSLASH_ESCAPES|ANSI|ORACLE|MSSQL|DB2|POSTGRESQL|MAXDB)\b/i;

export class MysqlAdapter implements DialectAdapter {
  readonly name = "mysql" as const;
  /** Column names are case-insensitive in MySQL: the engine matches them case-insensitively. */
  readonly caseInsensitiveColumns = true;
  private readonly parser = new Parser();

  init(): Promise<void> {
    return Promise.resolve();
  }

  shapeKey(sql: string): ShapeKey {
    return mysqlShapeKey(sql, lexMysql(sql));
  }

  locateLiterals(sql: string): { start: number; end: number }[] {
    return this.shapeKey(sql).literals;
  }

  parse(sql: string): ParsedText {
    const lex = lexMysql(sql);
    if (lex.executable.length)
      throw new UnsupportedNode("executable comment (/*! … */) in a statement that may touch a protected table");
    const literalTokens: ConvertInput["literalTokens"] = [];
    const paramTokens: ConvertInput["paramTokens"] = [];
    lex.tokens.forEach((token, index) => {
      if (isLiteralToken(token)) literalTokens.push({ token, index });
      else if (token.kind === "param") paramTokens.push({ token, index });
    });
    const input: ConvertInput = { sql, toks: new MysqlTokens(lex.tokens), literalTokens, paramTokens };
    const statements: Statement[] = [];
    let from = 0;
    for (let i = 0; i <= lex.tokens.length; i++) {
      const t = lex.tokens[i];
      if (t && !(t.kind === "op" && t.text === ";")) continue;
      if (i > from) statements.push(this.statement(input, lex, from, i));
      from = i + 1;
    }
    return { statements, literalSpans: literalTokens.map(({ token }) => ({ start: token.start, end: token.end })) };
  }

  private statement(input: ConvertInput, lex: MysqlLexResult, from: number, to: number): Statement {
    const toks = input.toks;
    const first = toks.at(from)!;
    const word = first.kind === "word" ? first.text : first.kind === "op" && first.text === "(" ? "SELECT" : "";
    const second = toks.at(from + 1);
    const tablesNamed = () => namedTables(lex.tokens, from, to);
    if (TRANSACTION_WORDS.has(word))
      return { k: "utility", what: word, kind: "transaction", tables: tablesNamed(), safe: true };
    if (word === "USE") {
      const db = second && (second.kind === "word" || second.kind === "qident") ? identText(input.sql, second) : "";
      return {
        k: "utility",
        what: "USE",
        kind: "set",
        tables: [],
        safe: true,
        setting: { name: "search_path", values: db ? [db] : undefined },
      };
    }
    if (word === "EXPLAIN" || word === "ANALYZE") {
      let i = from + 1;
      while (i < to && !(toks.isWord(i, ...QUERY_WORDS) || toks.isOp(i, "("))) i++;
      if (i >= to || (word === "ANALYZE" && i !== from + 1 && !toks.isWord(from + 1, "FORMAT")))
        return { k: "utility", what: word, kind: "utility", tables: tablesNamed(), safe: true };
      return {
        k: "utility",
        what: "ExplainStmt",
        kind: "utility",
        tables: [],
        safe: true,
        inner: this.statement(input, lex, i, to),
      };
    }
    if (word === "PREPARE" || (word === "EXECUTE" && toks.isWord(from + 1, "IMMEDIATE"))) {
      // PREPARE s FROM '…' / EXECUTE IMMEDIATE '…': the text is analysed; it cannot be rewritten inside a string
      const fromIdx = word === "PREPARE" ? toks.findForward(from + 1, "FROM", to) : from + 1;
      const body = toks.at(fromIdx + 1);
      if (fromIdx >= 0 && body?.kind === "string" && fromIdx + 2 === to && !body.introducer) {
        const inner = new MysqlAdapter().parse(decodeMysqlLiteral(body.text));
        if (inner.statements.length !== 1) throw new UnsupportedNode("PREPARE of several statements");
        return {
          k: "utility",
          what: "PrepareStmt",
          kind: "utility",
          tables: [],
          safe: true,
          inner: inner.statements[0],
        };
      }
      return {
        k: "utility",
        what: `${word === "PREPARE" ? "PREPARE" : "EXECUTE IMMEDIATE"} of a computed text`,
        kind: "other",
        tables: [],
        safe: false,
        opaqueCode: true,
      };
    }
    if (word === "CREATE" || word === "ALTER" || word === "DROP") {
      let i = from + 1;
      while (i < to && !STORED_CODE.has(toks.at(i)?.text ?? "") && !toks.isWord(i, "TABLE", "VIEW", "INDEX")) i++;
      if (i < to && toks.at(i)?.kind === "word" && STORED_CODE.has(toks.at(i)!.text) && word !== "DROP")
        return {
          k: "utility",
          what: `${word} ${toks.at(i)!.text}`,
          kind: "other",
          tables: tablesNamed(),
          safe: false,
          opaqueCode: true,
        };
    }
    if (word === "SET") return this.set(input, lex, from, to);
    if (QUERY_WORDS.has(word)) return { k: "query", query: this.parseQuery(input, from, to) };
    return {
      k: "utility",
      what: word || "statement",
      kind: "utility",
      tables: tablesNamed(),
      safe:
        SAFE_WORDS.has(word) || (word === "CREATE" && toks.isWord(from + 1, "INDEX", "UNIQUE", "FULLTEXT", "SPATIAL")),
    };
  }

  /** SET …: values that read tables are analysed as a query (SET @x = (SELECT …)). */
  private set(input: ConvertInput, lex: MysqlLexResult, from: number, to: number): Statement {
    const toks = input.toks;
    this.checkSqlMode(input, from, to);
    const reads = lex.tokens.slice(from, to).some((t) => t.kind === "word" && t.text === "SELECT");
    const name = toks.at(from + 1);
    const setting = name && (name.kind === "word" || name.kind === "var") ? name.text.toLowerCase() : "";
    if (!reads) return { k: "utility", what: "SET", kind: "set", tables: [], safe: true, setting: { name: setting } };
    const ast = this.astify(input, from, to);
    const conv = new MysqlToIr(input);
    const values: Expr[] = conv.withSource(ast.src, () =>
      (Array.isArray(ast.node.expr) ? ast.node.expr : []).map((a: Any) => conv.expr(a.right)),
    );
    return {
      k: "utility",
      what: "SET",
      kind: "set",
      tables: [],
      safe: true,
      inner: {
        k: "query",
        query: {
          k: "select",
          distinct: false,
          distinctOn: [],
          targets: values.map((expr) => ({ expr, start: -1 })),
          from: [],
          groupBy: [],
          orderBy: [],
          misc: [],
          into: false,
        },
      },
    };
  }

  /**
   * The lexer assumes sql_mode has neither ANSI_QUOTES nor NO_BACKSLASH_ESCAPES: setting either (or a value
   * smgate cannot read) is refused while tables are protected.
   */
  private checkSqlMode(input: ConvertInput, from: number, to: number): void {
    const toks = input.toks;
    for (let i = from + 1; i < to; i++) {
      const t = toks.at(i)!;
      if (!((t.kind === "word" || t.kind === "var") && /(^|[.@])sql_mode$/i.test(t.raw ?? t.text))) continue;
      let j = i + 1;
      if (!(toks.isOp(j, "=") || toks.isOp(j, ":="))) continue;
      j++;
      const v = toks.at(j);
      const end = toks.isOp(j + 1, ",") || j + 1 >= to;
      const ok =
        end &&
        v !== undefined &&
        ((v.kind === "string" && !v.introducer && !LEXING_MODES.test(decodeMysqlLiteral(v.text))) ||
          toks.isWord(j, "DEFAULT"));
      if (!ok)
        throw new UnsupportedNode(
          "SET sql_mode to a value with ANSI_QUOTES or NO_BACKSLASH_ESCAPES, or to an expression (the analyser assumes neither)",
        );
    }
  }

  private parseQuery(input: ConvertInput, from: number, to: number) {
    const conv = new MysqlToIr(input);
    const q = this.convertQuery(input, conv, from, to);
    // fail closed when the parser dropped part of the text: every placeholder must have been met
    for (const [n, p] of input.paramTokens.entries())
      if (p.index >= from && p.index < to && !conv.seenParams.has(n + 1))
        throw new UnsupportedNode("a placeholder in a clause the MySQL analyser does not model");
    return q;
  }

  private convertQuery(input: ConvertInput, conv: MysqlToIr, from: number, to: number) {
    const toks = input.toks;
    // node-sql-parser cannot parse ORDER BY / LIMIT on UPDATE and DELETE: parse that tail as a SELECT's
    let cut = to;
    if (toks.isWord(from, "UPDATE", "DELETE")) {
      const order = toks.findForward(from + 1, "ORDER", to);
      const limit = toks.findForward(from + 1, "LIMIT", to);
      cut = Math.min(order < 0 ? to : order, limit < 0 ? to : limit);
    }
    const main = this.astify(input, from, cut);
    if (cut < to) {
      const tail = this.astify(input, cut, to, "SELECT 1 FROM DUAL");
      main.node.orderby = tail.node.orderby;
      main.node.limit = tail.node.limit;
      // the tail's expressions come from their own source text
      const q = conv.withSource(main.src, () => conv.query({ ...main.node, orderby: null, limit: null }));
      const extra = conv.withSource(tail.src, () => ({
        orderBy: (tail.node.orderby ?? []).map((o: Any) => conv.expr(o.expr)),
        misc: (tail.node.limit?.value ?? []).map((v: Any) => conv.expr(v)),
      }));
      if (q.k !== "update" && q.k !== "delete") throw new UnsupportedNode("ORDER BY / LIMIT tail");
      return { ...q, orderBy: extra.orderBy, misc: extra.misc };
    }
    return conv.withSource(main.src, () => conv.query(main.node));
  }

  private astify(input: ConvertInput, from: number, to: number, prefix = "") {
    const literalOrdinal = new Map(input.literalTokens.map((l, i) => [l.index, i]));
    const paramNumber = new Map(input.paramTokens.map((p, i) => [p.index, i + 1]));
    const src = statementSource(
      input.sql,
      input.toks.tokens,
      from,
      to,
      literalOrdinal,
      paramNumber,
      prefix,
      ignorable(input.toks, from, to),
    );
    let ast: Any;
    try {
      ast = this.parser.astify(src.text, PARSE_OPTIONS);
    } catch (e) {
      const msg = (e as Error).message ?? "";
      const found = /but (.{1,40}) found/.exec(msg);
      throw new SqlParseError(`syntax error or unsupported MySQL syntax${found ? ` near ${found[1]}` : ""}`);
    }
    const node = Array.isArray(ast) ? ast : [ast];
    if (node.length !== 1) throw new UnsupportedNode("several statements in one statement");
    return { node: node[0], src };
  }

  quoteIdent(name: string): string {
    return quoteMysqlIdent(name);
  }

  quoteLiteral(value: string): string {
    return quoteMysqlLiteral(value);
  }

  decodeLiteral(token: string): string {
    return decodeMysqlLiteral(token);
  }

  foldIdent(name: string): string {
    return name;
  }

  mayTouch(sql: string, tableNames: ReadonlySet<string>): boolean {
    if (tableNames.size === 0) return false;
    const lower = sql.toLowerCase();
    if (DYNAMIC_SQL.test(lower)) return true;
    for (const name of tableNames) {
      let from = 0;
      for (;;) {
        const i = lower.indexOf(name, from);
        if (i < 0) break;
        const before = i === 0 ? "" : lower[i - 1];
        const after = lower[i + name.length] ?? "";
        if (!/[a-z0-9_$\u0080-\uffff]/.test(before) && !/[a-z0-9_$\u0080-\uffff]/.test(after)) return true;
        from = i + 1;
      }
    }
    return false;
  }
}

/**
 * Tokens node-sql-parser does not parse but that move no values: UPDATE / DELETE modifiers (LOW_PRIORITY,
 * QUICK, IGNORE) and index hints (USE / FORCE / IGNORE INDEX|KEY [FOR …] (…)).
 */
function ignorable(toks: MysqlTokens, from: number, to: number): Set<number> {
  const skip = new Set<number>();
  if (toks.isWord(from, "UPDATE", "DELETE"))
    for (let i = from + 1; i < to && toks.isWord(i, "LOW_PRIORITY", "QUICK", "IGNORE"); i++) skip.add(i);
  for (let i = from; i < to; i++) {
    if (!(toks.isWord(i, "USE", "FORCE", "IGNORE") && toks.isWord(i + 1, "INDEX", "KEY")) || i === from) continue;
    let j = i + 2;
    if (toks.isWord(j, "FOR")) {
      j++;
      if (toks.isWord(j, "ORDER", "GROUP") && toks.isWord(j + 1, "BY")) j += 2;
      else if (toks.isWord(j, "JOIN")) j++;
      else continue;
    }
    if (!toks.isOp(j, "(")) continue;
    const close = toks.closeParen(j, to);
    if (close < 0) continue;
    for (let k = i; k <= close; k++) skip.add(k);
    i = close;
  }
  return skip;
}

function identText(sql: string, t: MysqlToken): string {
  return t.kind === "qident" ? t.text : sql.slice(t.start, t.end);
}

/** Every (possibly db-qualified) name in a statement: the tables a utility statement may name, over-approximated. */
function namedTables(tokens: MysqlToken[], from: number, to: number): TableRef[] {
  const out: TableRef[] = [];
  for (let i = from; i < to; i++) {
    const t = tokens[i];
    if (t.kind !== "word" && t.kind !== "qident") continue;
    const raw = (x: MysqlToken) => (x.kind === "qident" ? x.text : undefined);
    const dot = tokens[i + 1];
    const next = tokens[i + 2];
    if (dot?.kind === "op" && dot.text === "." && next && (next.kind === "word" || next.kind === "qident")) {
      out.push({ schema: raw(t) ?? nameText(t), name: raw(next) ?? nameText(next), start: t.start });
      i += 2;
    } else out.push({ name: raw(t) ?? nameText(t), start: t.start });
  }
  return out;
}

/** Words are stored upper-cased by the lexer; `raw` keeps the case they were written in. */
function nameText(t: MysqlToken): string {
  return t.raw ?? t.text;
}

void nameOf;
