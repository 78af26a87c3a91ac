// The PostgreSQL DialectAdapter: libpg-query (the server's own parser, WASM) for analysis and its scanner
// for token boundaries; the fast shape lexer for per-statement literal positions.

import { hasSqlDetails, loadModule, parseSync } from "libpg-query";
import type { DialectAdapter, ParsedText } from "../dialect.js";
import { SqlParseError } from "../errors.js";
import type { ShapeKey } from "../shape-key.js";
import { decodePgLiteral, quotePgIdent, quotePgLiteral } from "./literals.js";
import { pgShapeKey } from "./shape-lexer.js";
import { PgToIr } from "./to-ir.js";
import { byteToCharMapper, PgTokens } from "./tokens.js";

let loaded: Promise<void> | undefined;

export class PostgresAdapter implements DialectAdapter {
  readonly name = "postgresql" as const;

  init(): Promise<void> {
    loaded ??= loadModule();
    return loaded;
  }

  shapeKey(sql: string): ShapeKey {
    return pgShapeKey(sql);
  }

  locateLiterals(sql: string): { start: number; end: number }[] {
    return pgShapeKey(sql).literals;
  }

  parse(sql: string): ParsedText {
    const b2c = byteToCharMapper(sql);
    let ast: ReturnType<typeof parseSync>;
    let tokens: PgTokens;
    try {
      ast = parseSync(sql);
      tokens = new PgTokens(sql, b2c);
    } catch (e) {
      if (hasSqlDetails(e)) {
        const pos = e.sqlDetails?.cursorPosition;
        throw new SqlParseError(`syntax error: ${e.sqlDetails?.message ?? e.message}`, pos);
      }
      throw new SqlParseError(`cannot parse statement: ${(e as Error).message}`);
    }
    const conv = new PgToIr(tokens, b2c);
    return {
      statements: (ast.stmts ?? []).map((s) => conv.statement(s.stmt)),
      literalSpans: tokens.literalSpans(),
    };
  }

  quoteIdent(name: string): string {
    return quotePgIdent(name);
  }

  quoteLiteral(value: string): string {
    return quotePgLiteral(value);
  }

  decodeLiteral(token: string): string {
    return decodePgLiteral(token);
  }

  foldIdent(name: string): string {
    return name.toLowerCase();
  }

  mayTouch(sql: string, tableNames: ReadonlySet<string>): boolean {
    if (tableNames.size === 0) return false;
    const lower = sql.toLowerCase();
    // Unicode-escaped identifiers (U&"…") can spell any name; DO blocks and function bodies can build
    // statements at run time: always analyse them.
    if (lower.includes("u&") || /(^|[^a-z0-9_$])do([^a-z0-9_$]|$)/.test(lower)) return true;
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
