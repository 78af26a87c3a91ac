// Statement kinds used as metric label values, shared by the PostgreSQL and MySQL session observers
// (metrics-hooks.ts, metrics-hooks-mysql.ts): the statement's leading keyword from a fixed set, so a label can
// never carry text (values, names) from the statement itself.

/** Statement kinds used as label values: a fixed set, so a label can never carry text from the statement. */
const KINDS = new Set([
  "select",
  "insert",
  "update",
  "delete",
  "merge",
  "copy",
  "with",
  "values",
  "begin",
  "start",
  "commit",
  "end",
  "rollback",
  "savepoint",
  "release",
  "set",
  "show",
  "reset",
  "create",
  "alter",
  "drop",
  "truncate",
  "grant",
  "revoke",
  "prepare",
  "execute",
  "deallocate",
  "discard",
  "explain",
  "analyze",
  "vacuum",
  "lock",
  "listen",
  "notify",
  "declare",
  "fetch",
  "close",
  "call",
  "do",
  // MySQL / MariaDB
  "replace",
  "use",
  "describe",
  "desc",
  "handler",
  "load",
]);

/**
 * The statement's leading keyword if it is a known kind, else "other" (blanks, opening parentheses and comments
 * skipped: `--`, block comments, and MySQL's `#`).
 */
export function statementKind(sql: string): string {
  const m = /^(?:\s+|--[^\n]*\n?|#[^\n]*\n?|\/\*[\s\S]*?\*\/|\()*([A-Za-z]+)/.exec(sql);
  const w = m?.[1]?.toLowerCase();
  if (w === undefined) return sql.trim() === "" ? "empty" : "other";
  return KINDS.has(w) ? w : "other";
}
