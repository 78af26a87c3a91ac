// The small dialect-neutral intermediate representation the analyser works on. Dialect adapters convert
// their parser's AST into it; offsets are character offsets into the original statement text.

export interface ColRefExpr {
  k: "col";
  /** Qualified name parts as the server resolves them (case-folded / unquoted), without a trailing "*". */
  names: string[];
  star: boolean;
  start: number;
  end: number;
  /** Start of the last name part (the column name), for renaming to a companion column. */
  lastStart: number;
}

export type Expr =
  | ColRefExpr
  | { k: "param"; n: number; start: number }
  /** A constant; `start` may point at a leading unary minus; `isNull` for the NULL keyword. */
  | { k: "lit"; start: number; isNull: boolean; negative: boolean }
  | { k: "default"; start: number }
  | { k: "cast"; arg: Expr; typeName: string; start: number }
  /** Binary comparison or other binary operator (op as written: "=", "<>", "<", "~~", "+", "->>", …). */
  | { k: "op"; op: string; left?: Expr; right: Expr; start: number }
  /** IS [NOT] DISTINCT FROM */
  | { k: "distinct"; negated: boolean; left: Expr; right: Expr; start: number }
  | { k: "in"; left: Expr; list: Expr[]; negated: boolean; start: number }
  | { k: "like"; what: string; left: Expr; right: Expr[]; start: number }
  | { k: "range"; what: string; args: Expr[]; start: number }
  | { k: "nulltest"; arg: Expr; start: number }
  | { k: "bool"; op: "and" | "or" | "not"; args: Expr[]; start: number }
  | { k: "func"; name: string; args: Expr[]; star: boolean; distinct: boolean; orderBy: Expr[]; start: number }
  | {
      k: "sublink";
      kind: "exists" | "any" | "all" | "expr" | "array" | "other";
      test?: Expr;
      op?: string;
      query: Query;
      start: number;
    }
  | { k: "row"; args: Expr[]; start: number }
  /** Anything else (CASE, COALESCE, arithmetic on lists, arrays, …): children are analysed, never trusted. */
  | { k: "other"; what: string; args: Expr[]; start: number };

export interface TableRef {
  schema?: string;
  name: string;
  start: number;
}

export type FromItem =
  | { k: "table"; table: TableRef; alias?: string; colAliases?: string[] }
  | { k: "sub"; query: Query; alias?: string; colAliases?: string[]; lateral: boolean }
  | {
      k: "join";
      kind: "inner" | "left" | "right" | "full" | "cross";
      left: FromItem;
      right: FromItem;
      natural: boolean;
      using?: string[];
      on?: Expr;
      alias?: string;
    }
  /** A set-returning function, VALUES list, or other source: its output is never protected; args analysed. */
  | { k: "opaque"; what: string; args: Expr[]; alias?: string; colAliases?: string[] };

export interface Target {
  expr: Expr;
  alias?: string;
  start: number;
}

export interface Cte {
  name: string;
  columns?: string[];
  query: Query;
}

export interface With {
  recursive: boolean;
  ctes: Cte[];
}

export interface SelectQuery {
  k: "select";
  with?: With;
  distinct: boolean;
  distinctOn: Expr[];
  targets: Target[];
  from: FromItem[];
  where?: Expr;
  groupBy: Expr[];
  having?: Expr;
  orderBy: Expr[];
  /** LIMIT/OFFSET/window/other clause expressions: analysed like WHERE operands. */
  misc: Expr[];
  into: boolean;
  /** Offset where extra (hidden) select-list entries can be inserted, or undefined when unknown. */
  targetsEnd?: number;
}

export interface SetOpQuery {
  k: "setop";
  with?: With;
  op: "union" | "intersect" | "except";
  all: boolean;
  left: Query;
  right: Query;
  orderBy: Expr[];
  misc: Expr[];
}

export interface ValuesQuery {
  k: "values";
  with?: With;
  rows: Expr[][];
  /** Offset of each row's closing parenthesis, when known. */
  rowEnds: (number | undefined)[];
  orderBy: Expr[];
  misc: Expr[];
}

export interface Assignment {
  column: string;
  start: number;
  value: Expr;
}

export interface InsertQuery {
  k: "insert";
  with?: With;
  table: TableRef;
  alias?: string;
  /** Explicit column list; undefined means all columns in catalog order. */
  columns?: { name: string; start: number }[];
  /** Offset after the last listed column (inside the parentheses) or after the table name/alias. */
  columnsInsertAt?: number;
  source: Query | "default-values";
  onConflict?: { action: "nothing" | "update"; set: Assignment[]; where?: Expr; inferExprs: Expr[] };
  returning: Target[];
  /** MySQL `INSERT … SET a = …`: one VALUES row; companions are added as `, <col> = <value>` at rowEnds[0]. */
  setForm?: boolean;
  /** MySQL ON DUPLICATE KEY UPDATE: the inserted row is `VALUES(col)` (IR column refs `excluded.col`). */
  valuesFunction?: boolean;
}

export interface UpdateQuery {
  k: "update";
  with?: With;
  table: TableRef;
  alias?: string;
  set: Assignment[];
  from: FromItem[];
  where?: Expr;
  returning: Target[];
  /** MySQL multi-table UPDATE: the target is one of the `from` items (matched by alias / name). */
  targetInFrom?: boolean;
  /** MySQL UPDATE … ORDER BY … LIMIT … */
  orderBy?: Expr[];
  misc?: Expr[];
}

export interface DeleteQuery {
  k: "delete";
  with?: With;
  table: TableRef;
  alias?: string;
  using: FromItem[];
  where?: Expr;
  returning: Target[];
  /** MySQL multi-table DELETE: the target is one of the `using` items (matched by alias / name). */
  targetInFrom?: boolean;
  /** MySQL DELETE … ORDER BY … LIMIT … */
  orderBy?: Expr[];
  misc?: Expr[];
}

export type Query = SelectQuery | SetOpQuery | ValuesQuery | InsertQuery | UpdateQuery | DeleteQuery;

export type Statement =
  | { k: "query"; query: Query }
  | {
      k: "copy";
      table?: TableRef;
      columns?: string[];
      query?: Query;
      direction: "from" | "to";
      /** Server-side program / file instead of STDIN/STDOUT. */
      program: boolean;
      file: boolean;
      format: "text" | "csv" | "binary";
      /** Where extra (companion) columns can be added: inside the column list, or after the table name. */
      columnsInsertAt?: number;
    }
  /**
   * Anything else. `tables` are relations it names; `safe` marks statements that move no values into or out
   * of a table (DROP, TRUNCATE, LOCK, VACUUM, …); `inner` holds an analysable embedded query (EXPLAIN).
   */
  | {
      k: "utility";
      what: string;
      kind: "utility" | "transaction" | "set" | "merge" | "other";
      tables: TableRef[];
      safe: boolean;
      inner?: Statement;
      /** Statements that may hide table names (DO blocks, function bodies): refused when anything is protected. */
      opaqueCode?: boolean;
      /** SET name = values (values undefined for RESET / DEFAULT / non-constant values). */
      setting?: { name: string; values?: string[] };
    };
