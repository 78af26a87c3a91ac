// node-sql-parser (MariaDB grammar) AST → rewrite IR (ir.ts). Only this module knows its node shapes.
// Constants arrive as ordinal markers (source.ts), so every literal / placeholder node is tied to its token;
// splice positions come from the lexer's tokens (tokens.ts). Unknown expression nodes become `other` with
// every nested expression collected (nothing inside escapes analysis); unknown statement and FROM shapes
// throw UnsupportedNode (refused when the text may touch a protected table).

import { SqlParseError, UnsupportedNode } from "../errors.js";
import type {
  Assignment,
  ColRefExpr,
  Cte,
  Expr,
  FromItem,
  InsertQuery,
  Query,
  SelectQuery,
  TableRef,
  Target,
  With,
} from "../ir.js";
import type { MysqlToken } from "./lexer.js";
import { PARAM_BASE, type StatementSource } from "./source.js";
import type { MysqlTokens } from "./tokens.js";

// biome-ignore lint/suspicious/noExplicitAny: the AST is untyped JSON here, narrowed by node type
type Any = any;

const SELECT_LIST_STOPS = new Set([
  "FROM",
  "INTO",
  "WHERE",
  "GROUP",
  "HAVING",
  "WINDOW",
  "UNION",
  "INTERSECT",
  "EXCEPT",
  "MINUS",
  "ORDER",
  "LIMIT",
  "FOR",
  "LOCK",
  "PROCEDURE",
]);

const SELECT_MODIFIERS = new Set([
  "ALL",
  "DISTINCT",
  "DISTINCTROW",
  "HIGH_PRIORITY",
  "STRAIGHT_JOIN",
  "SQL_SMALL_RESULT",
  "SQL_BIG_RESULT",
  "SQL_BUFFER_RESULT",
  "SQL_CACHE",
  "SQL_NO_CACHE",
  "SQL_CALC_FOUND_ROWS",
]);

const STRING_TYPES = new Set(["single_quote_string", "double_quote_string", "natural_string", "string"]);
const TYPED_STRING_TYPES = new Set(["date", "time", "timestamp", "datetime"]);
const HEX_TYPES = new Set(["hex_string", "full_hex_string", "bit_string"]);
/** Node types that are expressions (anything else nested in an unknown node is searched for them). */
const EXPR_TYPES = new Set([
  "column_ref",
  "number",
  "null",
  "bool",
  "binary_expr",
  "unary_expr",
  "function",
  "aggr_func",
  "cast",
  "case",
  "interval",
  "expr_list",
  "var",
  "param",
  "origin",
  "star",
  "select",
  ...STRING_TYPES,
  ...TYPED_STRING_TYPES,
  ...HEX_TYPES,
]);

/** A name as node-sql-parser gives it: a string, { value }, or { expr: { value } }. */
export function nameOf(x: Any): string | undefined {
  if (x === null || x === undefined) return undefined;
  if (typeof x === "string") return x;
  if (typeof x.value === "string") return x.value;
  if (x.expr && typeof x.expr.value === "string") return x.expr.value;
  return undefined;
}

const lower = (s: string) => s.toLowerCase();

export interface ConvertInput {
  sql: string;
  toks: MysqlTokens;
  /** Literal tokens by ordinal (global). */
  literalTokens: { token: MysqlToken; index: number }[];
  /** `?` tokens by number - 1 (global). */
  paramTokens: { token: MysqlToken; index: number }[];
}

export class MysqlToIr {
  private src!: StatementSource;
  /** Placeholder numbers the conversion met (each must be: a `?` the parser dropped would go unanalysed). */
  readonly seenParams = new Set<number>();
  /** Inside ON DUPLICATE KEY UPDATE: VALUES(col) names the inserted value. */
  private inDuplicateUpdate = false;

  constructor(private readonly input: ConvertInput) {}

  private get toks(): MysqlTokens {
    return this.input.toks;
  }

  /** Converts one parsed statement; `src` is the source the AST was parsed from. */
  withSource<T>(src: StatementSource, f: () => T): T {
    const prev = this.src;
    this.src = src;
    try {
      return f();
    } finally {
      this.src = prev;
    }
  }

  // ---------------------------------------------------------------- queries

  query(node: Any): Query {
    if (!node || typeof node !== "object") throw new UnsupportedNode("empty query");
    if (node.ast && !node.type) return this.query(node.ast);
    switch (node.type) {
      case "select":
        return this.select(node);
      case "insert":
      case "replace":
        return this.insert(node);
      case "update":
        return this.update(node);
      case "delete":
        return this.delete(node);
      default:
        throw new UnsupportedNode(`statement ${String(node.type)}`);
    }
  }

  private with(list: Any): With | undefined {
    if (!Array.isArray(list) || list.length === 0) return undefined;
    const ctes: Cte[] = list.map((c: Any) => ({
      name: nameOf(c.name) ?? "",
      columns: Array.isArray(c.columns) && c.columns.length ? c.columns.map((x: Any) => lower(colName(x))) : undefined,
      query: this.query(c.stmt?.ast ?? c.stmt),
    }));
    return { recursive: list.some((c: Any) => !!c.recursive), ctes };
  }

  private select(node: Any): Query {
    const w = this.with(node.with);
    if (!node._next) return { ...this.selectCore(node), with: w };
    // a UNION/INTERSECT/EXCEPT chain: a ⟨op⟩ b ⟨op⟩ c, folded left-deep
    let left: Query = this.selectCore(node);
    let cur = node;
    while (cur._next) {
      const op = String(cur.set_op ?? "union").toLowerCase();
      const next = cur._next;
      const right = this.selectCore(next);
      left = {
        k: "setop",
        op: op.startsWith("intersect")
          ? "intersect"
          : op.startsWith("except") || op.startsWith("minus")
            ? "except"
            : "union",
        all: /\ball\b/.test(op),
        left,
        right,
        orderBy: [],
        misc: [],
      };
      cur = next;
    }
    return { ...left, with: w } as Query;
  }

  private selectCore(node: Any): SelectQuery {
    if (node.type !== "select") throw new UnsupportedNode(`set operation arm ${String(node.type)}`);
    const targets = this.targets(node.columns);
    const misc: Expr[] = [];
    for (const v of node.limit?.value ?? []) misc.push(this.expr(v));
    if (node.window) misc.push(...this.children(node.window));
    const q: SelectQuery = {
      k: "select",
      distinct: !!node.distinct && /DISTINCT/i.test(String(node.distinct)),
      distinctOn: [],
      targets,
      from: this.fromList(node.from),
      where: this.optExpr(node.where),
      groupBy: (Array.isArray(node.groupby) ? node.groupby : (node.groupby?.columns ?? [])).map((e: Any) =>
        this.expr(e),
      ),
      having: this.optExpr(node.having),
      orderBy: this.orderBy(node.orderby),
      misc,
      into: !!node.into?.position || !!node.into?.expr,
      targetsEnd: undefined,
    };
    q.targetsEnd = this.selectListEnd(q.targets);
    return q;
  }

  private orderBy(list: Any): Expr[] {
    return (Array.isArray(list) ? list : []).map((o: Any) => this.expr(o.expr));
  }

  private targets(list: Any): Target[] {
    if (list === "*") return [{ expr: this.star([]), start: -1 }];
    return (Array.isArray(list) ? list : []).map((c: Any) => {
      const expr = this.expr(c.expr ?? c);
      const alias = nameOf(c.as);
      return { expr, alias: alias === undefined ? undefined : lower(alias), start: exprStart(expr) };
    });
  }

  private star(names: string[]): ColRefExpr {
    return { k: "col", names, star: true, start: -1, end: -1, lastStart: -1 };
  }

  /** End offset of a select list: from the SELECT keyword before its first located expression. */
  private selectListEnd(targets: Target[]): number | undefined {
    const toks = this.toks;
    let anchor = Number.POSITIVE_INFINITY;
    for (const t of targets) anchor = Math.min(anchor, firstStart(t.expr));
    let sel = -1;
    if (Number.isFinite(anchor)) sel = toks.findBack(toks.indexAt(anchor), "SELECT", this.src.from);
    else if (targets.every((t) => t.expr.k === "col" && t.expr.star)) {
      // only `*` items: the one SELECT of this statement whose list is exactly that many stars
      const candidates: number[] = [];
      for (let i = this.src.from; i < this.src.to; i++) {
        if (!toks.isWord(i, "SELECT")) continue;
        let j = i + 1;
        while (toks.at(j)?.kind === "word" && SELECT_MODIFIERS.has(toks.at(j)!.text)) j++;
        const end = toks.clauseEnd(j, SELECT_LIST_STOPS, this.src.to);
        let stars = 0;
        let ok = true;
        for (let k = j; k < end; k++) {
          const t = toks.at(k)!;
          if (t.kind === "op" && t.text === "*") stars++;
          else if (!(t.kind === "op" && (t.text === "," || t.text === ".")) && t.kind !== "word" && t.kind !== "qident")
            ok = false;
        }
        if (ok && stars === targets.length) candidates.push(i);
      }
      if (candidates.length === 1) sel = candidates[0];
    }
    if (sel < 0) return undefined;
    const stop = toks.clauseEnd(sel + 1, SELECT_LIST_STOPS, this.src.to);
    const last = toks.at(stop - 1);
    return last && stop - 1 > sel ? last.end : undefined;
  }

  // ---------------------------------------------------------------- FROM

  fromList(list: Any): FromItem[] {
    const out: FromItem[] = [];
    let cur: FromItem | undefined;
    for (const f of Array.isArray(list) ? list : []) {
      const item = this.fromSingle(f);
      if (f.join) {
        if (!cur) throw new UnsupportedNode("JOIN without a left side");
        const j = String(f.join).toUpperCase();
        const using = Array.isArray(f.using) ? f.using.map((u: Any) => lower(nameOf(u) ?? "")) : undefined;
        const on = this.optExpr(f.on);
        const kind = j.startsWith("LEFT")
          ? "left"
          : j.startsWith("RIGHT")
            ? "right"
            : j.startsWith("FULL")
              ? "full"
              : !on && !using && !j.includes("NATURAL")
                ? "cross"
                : "inner";
        cur = { k: "join", kind, left: cur, right: item, natural: j.includes("NATURAL"), using, on };
      } else {
        if (cur) out.push(cur);
        cur = item;
      }
    }
    if (cur) out.push(cur);
    return out;
  }

  private fromSingle(f: Any): FromItem {
    const alias = nameOf(f.as) ?? undefined;
    if (f.expr?.ast || f.expr?.type === "select") {
      return { k: "sub", query: this.query(f.expr.ast ?? f.expr), alias, lateral: !!f.lateral };
    }
    const name = nameOf(f.table);
    if (name !== undefined && !f.expr) {
      if (name.toUpperCase() === "DUAL" && !f.db) return { k: "opaque", what: "DUAL", args: [], alias };
      return { k: "table", table: this.tableRef(f), alias };
    }
    return { k: "opaque", what: String(f.type ?? "table expression"), args: this.children(f), alias };
  }

  private tableRef(f: Any): TableRef {
    const db = nameOf(f.db);
    return { schema: db || undefined, name: nameOf(f.table) ?? "", start: -1 };
  }

  // ---------------------------------------------------------------- DML

  private insert(node: Any): InsertQuery {
    const t = Array.isArray(node.table) ? node.table[0] : node.table;
    if (!t) throw new UnsupportedNode("INSERT without a table");
    const table = this.tableRef(t);
    const setForm = Array.isArray(node.set) && node.set.length > 0;
    const listed: string[] | undefined = setForm
      ? node.set.map((a: Any) => lower(colName(a.column)))
      : Array.isArray(node.columns) && node.columns.length
        ? node.columns.map((c: Any) => lower(colName(c)))
        : undefined;
    let source: Query;
    if (setForm) {
      source = {
        k: "values",
        rows: [node.set.map((a: Any) => this.expr(a.value))],
        rowEnds: [],
        orderBy: [],
        misc: [],
      };
    } else if (node.values?.type === "values") {
      const rows: Expr[][] = (node.values.values ?? []).map((r: Any) => (r.value ?? []).map((e: Any) => this.expr(e)));
      source = { k: "values", rows, rowEnds: [], orderBy: [], misc: [] };
    } else if (node.values) source = this.query(node.values);
    else throw new UnsupportedNode("INSERT source");
    const pos = this.insertPositions(listed?.length, source, setForm);
    if (source.k === "values") source.rowEnds = pos.rowEnds;
    const odku = node.on_duplicate_update?.set;
    let onConflict: InsertQuery["onConflict"];
    if (Array.isArray(odku)) {
      this.inDuplicateUpdate = true;
      try {
        onConflict = { action: "update", set: this.assignments(odku, pos.odkuSetStart), inferExprs: [] };
      } finally {
        this.inDuplicateUpdate = false;
      }
    }
    return {
      k: "insert",
      table,
      columns: listed?.map((name, i) => ({ name, start: pos.columnStarts[i] ?? -1 })),
      columnsInsertAt: pos.columnsInsertAt,
      source,
      onConflict,
      returning: this.targets(node.returning?.columns),
      ...(setForm ? { setForm: true } : {}),
      ...(onConflict ? { valuesFunction: true } : {}),
    };
  }

  /** Token positions of an INSERT: after the column list (or table name), VALUES row ends, ON DUPLICATE SET. */
  private insertPositions(
    columnCount: number | undefined,
    source: Query,
    setForm: boolean,
  ): { columnsInsertAt?: number; columnStarts: number[]; rowEnds: (number | undefined)[]; odkuSetStart?: number } {
    const toks = this.toks;
    const to = this.src.to;
    const none = { columnStarts: [], rowEnds: source.k === "values" ? source.rows.map(() => undefined) : [] };
    let i = this.src.from;
    if (!toks.isWord(i, "INSERT", "REPLACE")) return none;
    i++;
    while (toks.isWord(i, "LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO")) i++;
    if (!toks.isName(i)) return none;
    i = toks.nameEnd(i) + 1;
    if (toks.isWord(i, "PARTITION") && toks.isOp(i + 1, "(")) {
      const close = toks.closeParen(i + 1, to);
      if (close < 0) return none;
      i = close + 1;
    }
    let columnsInsertAt = toks.at(i - 1)!.end;
    const columnStarts: number[] = [];
    if (columnCount !== undefined && !setForm) {
      if (!toks.isOp(i, "(")) return none;
      const close = toks.closeParen(i, to);
      if (close < 0) return none;
      for (let k = i + 1; k < close; k++) {
        if (toks.isName(k) && (k === i + 1 || toks.isOp(k - 1, ",")))
          columnStarts.push(toks.at(toks.nameEnd(k))!.start);
      }
      columnsInsertAt = toks.at(close - 1)!.end;
      i = close + 1;
    }
    const rowEnds: (number | undefined)[] = [];
    if (setForm) {
      if (!toks.isWord(i, "SET")) return none;
      const end = toks.clauseEnd(i + 1, new Set(["ON", "RETURNING"]), to);
      rowEnds.push(toks.at(end - 1)!.end);
      i = end;
    } else if (source.k === "values" && toks.isWord(i, "VALUES", "VALUE")) {
      let j = i + 1;
      while (toks.isOp(j, "(")) {
        const close = toks.closeParen(j, to);
        if (close < 0) break;
        rowEnds.push(toks.at(close)!.start);
        j = close + 1;
        if (toks.isOp(j, ",")) j++;
        else break;
      }
      i = j;
    }
    const odku = toks.findForward(i, "DUPLICATE", to);
    const odkuSetStart =
      odku >= 0 && toks.isWord(odku + 1, "KEY") && toks.isWord(odku + 2, "UPDATE")
        ? toks.at(odku + 3)?.start
        : undefined;
    const rows = source.k === "values" ? source.rows.length : 0;
    return {
      columnsInsertAt,
      columnStarts: columnStarts.length === columnCount ? columnStarts : [],
      rowEnds: rowEnds.length === rows ? rowEnds : (none.rowEnds as undefined[]),
      odkuSetStart,
    };
  }

  private assignments(list: Any[], firstStart: number | undefined): Assignment[] {
    return list.map((a: Any, i: number) => ({
      column: lower(colName(a.column)),
      ...(a.table ? { table: nameOf(a.table) } : {}),
      start: i === 0 && firstStart !== undefined ? firstStart : -1,
      value: this.expr(a.value),
    }));
  }

  /** Start of the first assignment after the statement's top-level SET keyword. */
  private setListStart(): number | undefined {
    const i = this.toks.findForward(this.src.from + 1, "SET", this.src.to);
    return i < 0 ? undefined : this.toks.at(i + 1)?.start;
  }

  private update(node: Any): Query {
    const items: Any[] = Array.isArray(node.table) ? node.table : [node.table];
    const set = this.assignments(node.set ?? [], this.setListStart());
    const where = this.optExpr(node.where);
    const tail = this.tail(node);
    if (items.length === 1 && !items[0].join && !items[0].expr) {
      return {
        k: "update",
        table: this.tableRef(items[0]),
        alias: nameOf(items[0].as) ?? undefined,
        set: set.map(({ column, start, value }) => ({ column, start, value })),
        from: [],
        where,
        returning: this.targets(node.returning?.columns),
        ...tail,
      };
    }
    // multi-table UPDATE: every SET column must name (by qualifier) the one table it updates
    const quals = new Set(set.map((a) => (a as Assignment & { table?: string }).table));
    const q = [...quals][0];
    if (quals.size !== 1 || q === undefined)
      throw new UnsupportedNode("multi-table UPDATE: qualify every SET column with the one table it updates");
    const target = items.find((f) => (nameOf(f.as) ?? nameOf(f.table)) === q);
    if (!target || target.expr) throw new UnsupportedNode("multi-table UPDATE of a derived table");
    return {
      k: "update",
      table: this.tableRef(target),
      alias: nameOf(target.as) ?? undefined,
      set: set.map(({ column, start, value }) => ({ column, start, value })),
      from: this.fromList(items),
      where,
      returning: [],
      targetInFrom: true,
      ...tail,
    };
  }

  private delete(node: Any): Query {
    const from: Any[] = Array.isArray(node.from) ? node.from : [];
    const targets: Any[] = Array.isArray(node.table) ? node.table : [];
    const where = this.optExpr(node.where);
    const tail = this.tail(node);
    const single =
      from.length === 1 && !from[0].join && !from[0].expr && (targets.length === 0 || targets.length === 1);
    if (single) {
      return {
        k: "delete",
        table: this.tableRef(from[0]),
        alias: nameOf(from[0].as) ?? undefined,
        using: [],
        where,
        returning: this.targets(node.returning?.columns),
        ...tail,
      };
    }
    if (targets.length !== 1) throw new UnsupportedNode("DELETE from several tables at once");
    const name = nameOf(targets[0].table);
    const target = from.find((f) => (nameOf(f.as) ?? nameOf(f.table)) === name);
    if (!target || target.expr) throw new UnsupportedNode("multi-table DELETE target not found in FROM");
    return {
      k: "delete",
      table: this.tableRef(target),
      alias: nameOf(target.as) ?? undefined,
      using: this.fromList(from),
      where,
      returning: [],
      targetInFrom: true,
      ...tail,
    };
  }

  /** ORDER BY / LIMIT of UPDATE and DELETE (parsed separately by the adapter, see adapter.ts). */
  private tail(node: Any): { orderBy?: Expr[]; misc?: Expr[] } {
    const orderBy = this.orderBy(node.orderby);
    const misc = (node.limit?.value ?? []).map((v: Any) => this.expr(v));
    return orderBy.length || misc.length ? { orderBy, misc } : {};
  }

  // ---------------------------------------------------------------- expressions

  private optExpr(n: Any): Expr | undefined {
    return n ? this.expr(n) : undefined;
  }

  /** Every expression nested anywhere in an unknown node. */
  children(body: Any): Expr[] {
    const out: Expr[] = [];
    const visit = (v: Any) => {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v === "object") {
        if (v.ast || (typeof v.type === "string" && EXPR_TYPES.has(v.type))) out.push(this.expr(v));
        else Object.values(v).forEach(visit);
      }
    };
    visit(body);
    return out;
  }

  expr(n: Any): Expr {
    if (!n || typeof n !== "object") return { k: "other", what: "unknown", args: [], start: -1 };
    if (n.ast && !n.type) return this.sublink("expr", n.ast);
    const type: string = n.type;
    if (type === "number") return this.numberMarker(n.value, false);
    if (STRING_TYPES.has(type)) return this.stringMarker(n.value, "string");
    if (HEX_TYPES.has(type)) return this.literalAt(Number.parseInt(String(n.value), 16), ["hex", "bit"], false);
    if (TYPED_STRING_TYPES.has(type)) {
      const arg = this.stringMarker(n.value, "string");
      return { k: "cast", arg, typeName: type, start: exprStart(arg) };
    }
    switch (type) {
      case "column_ref":
        return this.columnRef(n);
      case "null":
        return { k: "lit", start: -1, isNull: true, negative: false };
      case "bool":
        return { k: "other", what: "boolean constant", args: [], start: -1 };
      case "star":
        return { k: "other", what: "*", args: [], start: -1 };
      case "var":
        return { k: "other", what: "variable", args: this.children(n.members), start: -1 };
      case "param":
        throw new UnsupportedNode("named parameter");
      case "select":
        return this.sublink("expr", n);
      case "expr_list": {
        const items: Any[] = Array.isArray(n.value) ? n.value : [];
        if (items.length === 1) return this.expr(items[0]);
        const args = items.map((e) => this.expr(e));
        return { k: "row", args, start: args.length ? exprStart(args[0]) : -1 };
      }
      case "unary_expr":
        return this.unary(n);
      case "binary_expr":
        return this.binary(n);
      case "function":
        return this.func(n);
      case "aggr_func":
        return this.aggregate(n);
      case "cast": {
        const target = Array.isArray(n.target) ? n.target[0] : n.target;
        const arg = this.expr(n.expr);
        return {
          k: "cast",
          arg,
          typeName: String(target?.dataType ?? "unknown").toLowerCase(),
          start: exprStart(arg),
        };
      }
      case "case":
        return { k: "other", what: "CaseExpr", args: this.children([n.expr, n.args]), start: -1 };
      case "interval":
        return { k: "other", what: "INTERVAL", args: this.children(n.expr), start: -1 };
      default:
        return { k: "other", what: type ?? "unknown", args: this.children(Object.values(n)), start: -1 };
    }
  }

  private sublink(kind: "expr" | "exists" | "any" | "all", ast: Any, test?: Expr, op?: string): Expr {
    return { k: "sublink", kind, test, op, query: this.query(ast), start: -1 };
  }

  private literalAt(ordinal: number, kinds: string[], negative: boolean): Expr {
    const lit = this.input.literalTokens[ordinal - 1];
    if (!lit || !kinds.includes(lit.token.kind) || !this.inStatement(lit.index))
      throw new SqlParseError("statement could not be analysed (literal markers disagree with the parser)");
    let start = lit.token.start;
    if (negative) {
      const minus = this.toks.at(lit.index - 1);
      if (minus?.kind !== "op" || minus.text !== "-")
        throw new SqlParseError("statement could not be analysed (negative literal without a minus sign)");
      start = minus.start;
    }
    const e: Expr = { k: "lit", start, isNull: false, negative };
    // hex / bit literals and charset introducers are binary or other-charset strings: a typed value
    if (lit.token.kind === "hex" || lit.token.kind === "bit") return { k: "cast", arg: e, typeName: "binary", start };
    if (lit.token.introducer) return { k: "cast", arg: e, typeName: `_${lit.token.introducer}`, start };
    return e;
  }

  private inStatement(tokenIndex: number): boolean {
    return tokenIndex >= this.src.from && tokenIndex < this.src.to;
  }

  private numberMarker(value: Any, negative: boolean): Expr {
    const v = typeof value === "number" ? value : Number(value);
    if (!Number.isInteger(v)) throw new SqlParseError("statement could not be analysed (unexpected number)");
    const abs = Math.abs(v);
    if (abs > PARAM_BASE) {
      const n = abs - PARAM_BASE;
      const p = this.input.paramTokens[n - 1];
      if (!p || !this.inStatement(p.index))
        throw new SqlParseError("statement could not be analysed (placeholder markers disagree with the parser)");
      this.seenParams.add(n);
      const param: Expr = { k: "param", n, start: p.token.start };
      return v < 0 !== negative ? { k: "op", op: "-", right: param, start: p.token.start } : param;
    }
    return this.literalAt(abs, ["number"], v < 0 !== negative);
  }

  private stringMarker(value: Any, kind: string): Expr {
    const s = String(value);
    if (!/^\d+$/.test(s)) throw new SqlParseError("statement could not be analysed (unexpected string)");
    return this.literalAt(Number(s), [kind], false);
  }

  private columnRef(n: Any): Expr {
    const column = colName(n.column);
    const table = nameOf(n.table);
    const db = nameOf(n.db);
    const qual = [db, table].filter((x): x is string => !!x);
    const loc = n.loc?.start?.offset;
    let start = -1;
    let end = -1;
    let lastStart = -1;
    if (typeof loc === "number") {
      const i = this.toks.indexAt(this.src.toOriginal(loc));
      if (this.toks.isName(i) && this.inStatement(i)) {
        const last = this.toks.nameEnd(i);
        const lastTok = this.toks.at(last)!;
        const written = lastTok.kind === "qident" ? lastTok.text : (lastTok.raw ?? lastTok.text);
        // the splice position must be this column's own token: anything else is a parser/lexer disagreement
        if (column !== "*" && written.toLowerCase() !== column.toLowerCase())
          throw new SqlParseError("statement could not be analysed (column position disagrees with the parser)");
        start = this.toks.at(i)!.start;
        end = this.toks.at(last)!.end;
        lastStart = this.toks.at(last)!.start;
        if (!qual.length && column.toUpperCase() === "DEFAULT" && this.toks.isWord(i, "DEFAULT"))
          return { k: "default", start };
      }
    }
    if (column === "*") return { ...this.star(qual), start };
    const col: Expr = { k: "col", names: [...qual, lower(column)], star: false, start, end, lastStart };
    if (n.collate) return { k: "other", what: "CollateClause", args: [col], start };
    return col;
  }

  private unary(n: Any): Expr {
    const op = String(n.operator).toUpperCase();
    if (op === "-" && n.expr?.type === "number") return this.numberMarker(n.expr.value, true);
    const arg = this.expr(n.expr);
    if (op === "NOT" || op === "!") return { k: "bool", op: "not", args: [arg], start: -1 };
    return { k: "op", op, right: arg, start: -1 };
  }

  private subqueryOf(n: Any): Any | undefined {
    if (n?.type === "expr_list" && Array.isArray(n.value) && n.value.length === 1 && n.value[0]?.ast)
      return n.value[0].ast;
    if (n?.ast && !n.type) return n.ast;
    return undefined;
  }

  private binary(n: Any): Expr {
    const op = String(n.operator).toUpperCase();
    const start = -1;
    switch (op) {
      case "AND":
      case "&&":
        return { k: "bool", op: "and", args: [this.expr(n.left), this.expr(n.right)], start };
      case "OR":
      case "||":
        return { k: "bool", op: "or", args: [this.expr(n.left), this.expr(n.right)], start };
      case "XOR":
        return { k: "other", what: "XOR", args: [this.expr(n.left), this.expr(n.right)], start };
      case "IN":
      case "NOT IN": {
        const left = this.expr(n.left);
        const sub = this.subqueryOf(n.right);
        if (sub) {
          const link = this.sublink("any", sub, left, "=");
          return op === "IN" ? link : { k: "bool", op: "not", args: [link], start };
        }
        const list: Any[] = n.right?.type === "expr_list" ? (n.right.value ?? []) : [n.right];
        return { k: "in", left, list: list.map((e) => this.expr(e)), negated: op === "NOT IN", start };
      }
      case "LIKE":
      case "NOT LIKE":
      case "REGEXP":
      case "NOT REGEXP":
      case "RLIKE":
      case "NOT RLIKE":
      case "SOUNDS LIKE":
        return {
          k: "like",
          what: op.replace(/^NOT /, ""),
          left: this.expr(n.left),
          right: this.children(n.right),
          start,
        };
      case "BETWEEN":
      case "NOT BETWEEN":
        return { k: "range", what: "BETWEEN", args: [this.expr(n.left), ...this.children(n.right)], start };
      case "IS":
      case "IS NOT":
        if (n.right?.type === "null") return { k: "nulltest", arg: this.expr(n.left), start };
        return { k: "other", what: "BooleanTest", args: [this.expr(n.left), ...this.children(n.right)], start };
      case "<=>":
        return { k: "distinct", negated: true, left: this.expr(n.left), right: this.expr(n.right), start };
      default: {
        const fn = n.right?.type === "function" ? funcName(n.right).toUpperCase() : "";
        if (fn === "ANY" || fn === "SOME" || fn === "ALL") {
          const sub = this.subqueryOf(n.right.args);
          if (sub) return this.sublink(fn === "ALL" ? "all" : "any", sub, this.expr(n.left), op);
        }
        return { k: "op", op, left: this.expr(n.left), right: this.expr(n.right), start };
      }
    }
  }

  private func(n: Any): Expr {
    const name = funcName(n);
    const upper = name.toUpperCase();
    const argList: Any[] = Array.isArray(n.args?.value) ? n.args.value : n.args ? [n.args] : [];
    const start = typeof n.loc?.start?.offset === "number" ? this.src.toOriginal(n.loc.start.offset) : -1;
    if (upper === "EXISTS" && argList.length === 1 && this.subqueryOf({ type: "expr_list", value: argList }))
      return this.sublink("exists", argList[0].ast);
    if (upper === "VALUES" && this.inDuplicateUpdate && argList.length === 1 && argList[0]?.type === "column_ref") {
      const inner = this.columnRef(argList[0]);
      if (inner.k === "col" && inner.names.length === 1) return { ...inner, names: ["excluded", inner.names[0]] };
    }
    const args = argList.map((a) => this.expr(a));
    const orderBy: Expr[] = [];
    this.window(n.over, args, orderBy);
    return { k: "func", name: lower(name), args, star: false, distinct: false, orderBy, start };
  }

  private aggregate(n: Any): Expr {
    const a = n.args ?? {};
    const star = a.expr?.type === "star";
    const args = star || !a.expr ? [] : [this.expr(a.expr)];
    const orderBy = this.orderBy(a.orderby);
    this.window(n.over, args, orderBy);
    const start = typeof n.loc?.start?.offset === "number" ? this.src.toOriginal(n.loc.start.offset) : -1;
    return {
      k: "func",
      name: lower(String(n.name)),
      args,
      star,
      distinct: !!a.distinct,
      orderBy,
      start,
    };
  }

  private window(over: Any, args: Expr[], orderBy: Expr[]): void {
    if (!over) return;
    const spec = over.as_window_specification?.window_specification ?? over.window_specification ?? over;
    for (const p of spec.partitionby ?? []) args.push(this.expr(p.expr ?? p));
    orderBy.push(...this.orderBy(spec.orderby));
    if (spec.window_frame_clause) args.push(...this.children(spec.window_frame_clause));
  }
}

function funcName(n: Any): string {
  const nm = n.name;
  if (typeof nm === "string") return nm;
  if (Array.isArray(nm?.name)) return nm.name.map((p: Any) => nameOf(p) ?? "").join(".");
  return nameOf(nm) ?? "";
}

function colName(x: Any): string {
  const n = x?.type === "column_ref" ? nameOf(x.column) : nameOf(x);
  if (n === undefined) throw new UnsupportedNode("column name expression");
  return n;
}

function exprStart(e: Expr): number {
  return e.start;
}

/** The smallest known source offset inside an expression (not descending into subqueries). */
function firstStart(e: Expr): number {
  let best = e.start >= 0 ? e.start : Number.POSITIVE_INFINITY;
  const visit = (x: Expr | undefined) => {
    if (!x) return;
    best = Math.min(best, firstStart(x));
  };
  switch (e.k) {
    case "cast":
      visit(e.arg);
      break;
    case "op":
      visit(e.left);
      visit(e.right);
      break;
    case "distinct":
      visit(e.left);
      visit(e.right);
      break;
    case "in":
      visit(e.left);
      e.list.forEach(visit);
      break;
    case "like":
      visit(e.left);
      e.right.forEach(visit);
      break;
    case "range":
    case "bool":
    case "row":
    case "other":
      e.args.forEach(visit);
      break;
    case "func":
      e.args.forEach(visit);
      break;
    case "nulltest":
      visit(e.arg);
      break;
    case "sublink":
      visit(e.test);
      break;
    default:
      break;
  }
  return best;
}
