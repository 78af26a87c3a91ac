// DialectAdapter: everything dialect-specific the engine needs. The analyser itself works on the IR only.

import type { Statement } from "./ir.js";
import type { ShapeKey } from "./shape-key.js";

export interface ParsedText {
  statements: Statement[];
  /** Literal token spans found by the dialect's real scanner (to validate the fast shape lexer). */
  literalSpans: { start: number; end: number }[];
}

export interface DialectAdapter {
  readonly name: "postgresql" | "mysql";
  /** Loads parser modules (WASM); must resolve before `parse`. */
  init(): Promise<void>;
  /** Fast literal/comment scan used on every statement (no parse). */
  shapeKey(sql: string): ShapeKey;
  /** Literal token spans in source order (what plan literal ordinals index). */
  locateLiterals(sql: string): { start: number; end: number }[];
  /** Full parse into IR; throws SqlParseError on invalid text, UnsupportedNode for unmodelled constructs. */
  parse(sql: string): ParsedText;
  /** Identifier quoting for spliced companion column names. */
  quoteIdent(name: string): string;
  /** A string literal holding `value` exactly. */
  quoteLiteral(value: string): string;
  /** The value of a literal token as written (`'O''Brien'` → `O'Brien`); null for NULL. */
  decodeLiteral(token: string): string;
  /**
   * Column names are case-insensitive (MySQL, also when quoted): the adapter gives lower-case column names in
   * the IR and the engine matches catalog and policy column names case-insensitively.
   */
  readonly caseInsensitiveColumns?: boolean;
  /** Case folding of unquoted identifiers (PostgreSQL: lower; MySQL: as stored). */
  foldIdent(name: string): string;
  /**
   * Cheap pre-check: may this text touch any of `tableNames` (lower-case relation names)? Must never say
   * false for a statement that does; may say true spuriously.
   */
  mayTouch(sql: string, tableNames: ReadonlySet<string>): boolean;
}
