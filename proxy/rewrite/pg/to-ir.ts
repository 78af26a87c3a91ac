// libpg-query AST → rewrite IR (ir.ts). Only this module knows libpg-query node shapes. Unknown expression
// nodes become `other` with every nested expression collected, so nothing inside them escapes analysis.

import { UnsupportedNode } from "../errors.js";
import type {
  Assignment,
  Cte,
  Expr,
  FromItem,
  InsertQuery,
  Query,
  SelectQuery,
  Statement,
  TableRef,
  Target,
  With,
} from "../ir.js";
import type { PgTokens } from "./tokens.js";

// libpg-query JSON: { NodeType: body }; set-operation arms are bare SelectStmt bodies.
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
  "ORDER",
  "LIMIT",
  "OFFSET",
  "FETCH",
  "FOR",
]);

/** Utility statements that move no values into or out of table columns. */
const SAFE_UTILITY = new Set([
  "DropStmt",
  "TruncateStmt",
  "LockStmt",
  "VacuumStmt",
  "IndexStmt",
  "GrantStmt",
  "ReindexStmt",
  "ClusterStmt",
  "CommentStmt",
  "CheckPointStmt",
  "DiscardStmt",
  "ListenStmt",
  "UnlistenStmt",
  "NotifyStmt",
  "DeallocateStmt",
  "VariableShowStmt",
]);

function unwrap(node: Any): [string, Any] {
  if (!node || typeof node !== "object") return ["", undefined];
  const keys = Object.keys(node);
  if (keys.length === 1 && /^[A-Z]/.test(keys[0])) return [keys[0], node[keys[0]]];
  return ["SelectStmt", node];
}

const str = (n: Any): string => unwrap(n)[1]?.sval ?? "";
const strs = (list: Any[] | undefined): string[] => (list ?? []).map(str);

export class PgToIr {
  constructor(
    private readonly tokens: PgTokens,
    private readonly b2c: (b: number) => number,
  ) {}

  private loc(byteLoc: number | undefined): number {
    return byteLoc === undefined || byteLoc < 0 ? -1 : this.b2c(byteLoc);
  }

  statement(raw: Any): Statement {
    const [type, b] = unwrap(raw);
    switch (type) {
      case "SelectStmt":
      case "InsertStmt":
      case "UpdateStmt":
      case "DeleteStmt":
        return { k: "query", query: this.query(raw) };
      case "CopyStmt":
        return {
          k: "copy",
          table: b.relation ? this.tableRef(b.relation) : undefined,
          columns: b.attlist ? strs(b.attlist) : undefined,
          query: b.query ? this.query(b.query) : undefined,
          direction: b.is_from ? "from" : "to",
          program: !!b.is_program,
          file: !!b.filename && !b.is_program,
          format: copyFormat(b.options),
          columnsInsertAt: b.relation
            ? this.copyColumnsInsertAt(this.loc(b.relation.location), !!b.attlist)
            : undefined,
        };
      case "ExplainStmt":
      case "PrepareStmt":
      case "DeclareCursorStmt": {
        const innerNode = b.query;
        return {
          k: "utility",
          what: type,
          kind: "utility",
          tables: [],
          safe: true,
          inner: innerNode ? this.statement(innerNode) : undefined,
        };
      }
      case "CreateTableAsStmt":
      case "ViewStmt":
        return { k: "utility", what: type, kind: "utility", tables: this.collectTables(b), safe: false };
      case "TransactionStmt":
        return { k: "utility", what: type, kind: "transaction", tables: [], safe: true };
      case "VariableSetStmt": {
        const args: Any[] = b.args ?? [];
        const values = args.map((a) => unwrap(a)[1]?.sval?.sval as string | undefined);
        return {
          k: "utility",
          what: type,
          kind: "set",
          tables: [],
          safe: true,
          setting: {
            name: String(b.name ?? "").toLowerCase(),
            values:
              b.kind === "VAR_SET_VALUE" && values.every((v) => typeof v === "string")
                ? (values as string[])
                : undefined,
          },
        };
      }
      case "MergeStmt":
        return { k: "utility", what: type, kind: "merge", tables: this.collectTables(b), safe: false };
      case "DoStmt":
      case "CreateFunctionStmt":
      case "CreateTrigStmt":
      case "RuleStmt":
        return {
          k: "utility",
          what: type,
          kind: "other",
          tables: this.collectTables(b),
          safe: false,
          opaqueCode: true,
        };
      default:
        return {
          k: "utility",
          what: type,
          kind: "utility",
          tables: this.collectTables(b),
          safe: SAFE_UTILITY.has(type),
        };
    }
  }

  /** COPY t (a, b): offset of the ')' closing the column list; COPY t: offset after the table name. */
  private copyColumnsInsertAt(relStart: number, hasList: boolean): number | undefined {
    if (relStart < 0) return undefined;
    const name = this.tokens.nameAt(relStart);
    if (!hasList) return name.end;
    const open = name.lastIndex + 1;
    if (this.tokens.at(open)?.text !== "(") return undefined;
    const close = this.tokens.closeParen(open);
    return close < 0 ? undefined : this.tokens.at(close)!.start;
  }

  private collectTables(node: Any, out: TableRef[] = []): TableRef[] {
    if (Array.isArray(node)) {
      for (const x of node) this.collectTables(x, out);
    } else if (node && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) {
        if (k === "RangeVar") out.push(this.tableRef(v));
        else if (k === "relation" && v && typeof v === "object" && (v as Any).relname !== undefined)
          out.push(this.tableRef(v));
        else this.collectTables(v, out);
      }
    }
    return out;
  }

  private tableRef(rv: Any): TableRef {
    return { schema: rv.schemaname || undefined, name: rv.relname, start: this.loc(rv.location) };
  }

  query(raw: Any): Query {
    const [type, b] = unwrap(raw);
    switch (type) {
      case "SelectStmt":
        return this.select(b);
      case "InsertStmt":
        return this.insert(b);
      case "UpdateStmt":
        return {
          k: "update",
          with: this.with(b.withClause),
          table: this.tableRef(b.relation),
          alias: b.relation.alias?.aliasname,
          set: this.assignments(b.targetList),
          from: (b.fromClause ?? []).map((f: Any) => this.fromItem(f)),
          where: this.optExpr(b.whereClause),
          returning: this.targets(b.returningClause?.exprs ?? b.returningList),
        };
      case "DeleteStmt":
        return {
          k: "delete",
          with: this.with(b.withClause),
          table: this.tableRef(b.relation),
          alias: b.relation.alias?.aliasname,
          using: (b.usingClause ?? []).map((f: Any) => this.fromItem(f)),
          where: this.optExpr(b.whereClause),
          returning: this.targets(b.returningClause?.exprs ?? b.returningList),
        };
      default:
        throw new UnsupportedNode(type);
    }
  }

  private with(w: Any): With | undefined {
    if (!w) return undefined;
    const ctes: Cte[] = (w.ctes ?? []).map((c: Any) => {
      const cte = unwrap(c)[1];
      return {
        name: cte.ctename,
        columns: cte.aliascolnames ? strs(cte.aliascolnames) : undefined,
        query: this.query(cte.ctequery),
      };
    });
    return { recursive: !!w.recursive, ctes };
  }

  private select(b: Any): Query {
    const w = this.with(b.withClause);
    const orderBy = this.sortExprs(b.sortClause);
    const misc = [b.limitCount, b.limitOffset].filter(Boolean).map((e: Any) => this.expr(e));
    if (b.op && b.op !== "SETOP_NONE") {
      return {
        k: "setop",
        with: w,
        op: b.op === "SETOP_UNION" ? "union" : b.op === "SETOP_INTERSECT" ? "intersect" : "except",
        all: !!b.all,
        left: this.select(unwrap(b.larg)[1]),
        right: this.select(unwrap(b.rarg)[1]),
        orderBy,
        misc,
      };
    }
    if (b.valuesLists) {
      const rows: Expr[][] = b.valuesLists.map((l: Any) => (unwrap(l)[1].items ?? []).map((e: Any) => this.expr(e)));
      return { k: "values", with: w, rows, rowEnds: this.valuesRowEnds(rows), orderBy, misc };
    }
    const targets = this.targets(b.targetList);
    const distinctItems: Any[] = b.distinctClause ?? [];
    for (const win of b.windowClause ?? []) {
      const wd = unwrap(win)[1];
      misc.push(...(wd.partitionClause ?? []).map((e: Any) => this.expr(e)));
      orderBy.push(...this.sortExprs(wd.orderClause));
    }
    const q: SelectQuery = {
      k: "select",
      with: w,
      distinct: distinctItems.length > 0,
      distinctOn: distinctItems.filter((d) => d && Object.keys(d).length > 0).map((d) => this.expr(d)),
      targets,
      from: (b.fromClause ?? []).map((f: Any) => this.fromItem(f)),
      where: this.optExpr(b.whereClause),
      groupBy: (b.groupClause ?? []).map((e: Any) => this.expr(e)),
      having: this.optExpr(b.havingClause),
      orderBy,
      misc,
      into: !!b.intoClause,
      targetsEnd: undefined,
    };
    if (targets.length > 0 && targets[0].start >= 0) {
      const first = this.tokens.indexAt(targets[0].start);
      const stop = this.tokens.clauseEnd(first, SELECT_LIST_STOPS);
      const last = this.tokens.at(stop - 1);
      if (last && stop > first) q.targetsEnd = last.end;
    }
    return q;
  }

  /** Offsets of the ')' closing each VALUES row, found from the row's first expression. */
  private valuesRowEnds(rows: Expr[][]): (number | undefined)[] {
    return rows.map((row) => {
      const first = row[0];
      if (!first || first.start < 0) return undefined;
      // the '(' opening the row is the nearest unmatched '(' before the first expression
      let i = this.tokens.indexAt(first.start) - 1;
      let depth = 0;
      for (; i >= 0; i--) {
        const t = this.tokens.at(i)!.text;
        if (t === ")") depth++;
        else if (t === "(") {
          if (depth === 0) break;
          depth--;
        }
      }
      if (i < 0) return undefined;
      const close = this.tokens.closeParen(i);
      return close < 0 ? undefined : this.tokens.at(close)!.start;
    });
  }

  private insert(b: Any): InsertQuery {
    const table = this.tableRef(b.relation);
    const columns = b.cols?.map((c: Any) => {
      const rt = unwrap(c)[1];
      if (rt.indirection) throw new UnsupportedNode("INSERT column with subscript or field");
      return { name: rt.name as string, start: this.loc(rt.location) };
    });
    let columnsInsertAt: number | undefined;
    if (columns && columns.length > 0) {
      columnsInsertAt = this.tokens.nameAt(columns[columns.length - 1].start).end;
    } else if (table.start >= 0) {
      const name = this.tokens.nameAt(table.start);
      columnsInsertAt = name.end;
      const alias = b.relation.alias?.aliasname;
      if (alias) {
        let i = name.lastIndex + 1;
        if (this.tokens.at(i)?.text === "AS") i++;
        const t = this.tokens.at(i);
        if (t) columnsInsertAt = t.end;
      }
    }
    const oc = b.onConflictClause;
    return {
      k: "insert",
      with: this.with(b.withClause),
      table,
      alias: b.relation.alias?.aliasname,
      columns,
      columnsInsertAt,
      source: b.selectStmt ? this.query(b.selectStmt) : "default-values",
      onConflict: oc
        ? {
            action: oc.action === "ONCONFLICT_UPDATE" ? "update" : "nothing",
            set: this.assignments(oc.targetList),
            where: this.optExpr(oc.whereClause),
            inferExprs: [
              ...(oc.infer?.indexElems ?? []).map((ie: Any) => {
                const e = unwrap(ie)[1];
                return e.expr
                  ? this.expr(e.expr)
                  : ({ k: "col", names: [e.name], star: false, start: -1, end: -1, lastStart: -1 } as Expr);
              }),
              ...(oc.infer?.whereClause ? [this.expr(oc.infer.whereClause)] : []),
            ],
          }
        : undefined,
      returning: this.targets(b.returningClause?.exprs ?? b.returningList),
    };
  }

  private assignments(list: Any[] | undefined): Assignment[] {
    return (list ?? []).map((n: Any) => {
      const rt = unwrap(n)[1];
      if (rt.indirection) throw new UnsupportedNode("SET on a subscript or field");
      let value: Expr;
      const [vt, vb] = unwrap(rt.val);
      if (vt === "MultiAssignRef") {
        const [st, sb] = unwrap(vb.source);
        value =
          st === "RowExpr" && sb.args?.[vb.colno - 1]
            ? this.expr(sb.args[vb.colno - 1])
            : { k: "other", what: "multi-column assignment", args: [this.expr(vb.source)], start: -1 };
      } else value = this.expr(rt.val);
      return { column: rt.name, start: this.loc(rt.location), value };
    });
  }

  private targets(list: Any[] | undefined): Target[] {
    return (list ?? []).map((n: Any) => {
      const rt = unwrap(n)[1];
      return { expr: this.expr(rt.val), alias: rt.name, start: this.loc(rt.location) };
    });
  }

  private sortExprs(list: Any[] | undefined): Expr[] {
    return (list ?? []).map((s: Any) => this.expr(unwrap(s)[1].node));
  }

  private fromItem(raw: Any): FromItem {
    const [type, b] = unwrap(raw);
    const alias = b?.alias?.aliasname;
    const colAliases = b?.alias?.colnames ? strs(b.alias.colnames) : undefined;
    switch (type) {
      case "RangeVar":
        return { k: "table", table: this.tableRef(b), alias, colAliases };
      case "RangeSubselect":
        return { k: "sub", query: this.query(b.subquery), alias, colAliases, lateral: !!b.lateral };
      case "JoinExpr": {
        const kind =
          b.jointype === "JOIN_LEFT"
            ? "left"
            : b.jointype === "JOIN_RIGHT"
              ? "right"
              : b.jointype === "JOIN_FULL"
                ? "full"
                : !b.quals && !b.isNatural && !b.usingClause
                  ? "cross"
                  : "inner";
        if (b.join_using_alias) throw new UnsupportedNode("JOIN USING alias");
        return {
          k: "join",
          kind,
          left: this.fromItem(b.larg),
          right: this.fromItem(b.rarg),
          natural: !!b.isNatural,
          using: b.usingClause ? strs(b.usingClause) : undefined,
          on: this.optExpr(b.quals),
          alias,
        };
      }
      default:
        return { k: "opaque", what: type, args: this.children(b), alias, colAliases };
    }
  }

  private optExpr(n: Any): Expr | undefined {
    return n ? this.expr(n) : undefined;
  }

  /** Every expression nested anywhere in an unknown node. */
  private children(body: Any): Expr[] {
    const out: Expr[] = [];
    const visit = (v: Any) => {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v === "object") {
        const keys = Object.keys(v);
        if (keys.length === 1 && /^[A-Z]/.test(keys[0])) {
          const e = this.exprOrUndefined(v);
          if (e) out.push(e);
        } else Object.values(v).forEach(visit);
      }
    };
    visit(body);
    return out;
  }

  expr(n: Any): Expr {
    return this.exprOrUndefined(n) ?? { k: "other", what: "unknown", args: [], start: -1 };
  }

  private exprOrUndefined(n: Any): Expr | undefined {
    const [type, b] = unwrap(n);
    const start = this.loc(b?.location);
    switch (type) {
      case "ColumnRef": {
        const fields: Any[] = b.fields ?? [];
        const star = fields.length > 0 && unwrap(fields[fields.length - 1])[0] === "A_Star";
        const names = fields.filter((f) => unwrap(f)[0] === "String").map(str);
        const name = this.tokens.nameAt(start);
        const lastTok = this.tokens.at(name.lastIndex);
        return { k: "col", names, star, start, end: name.end, lastStart: lastTok?.start ?? start };
      }
      case "ParamRef":
        return { k: "param", n: b.number, start };
      case "A_Const": {
        const t = this.tokens.at(this.tokens.indexAt(start));
        return { k: "lit", start, isNull: !!b.isnull, negative: t?.text === "-" };
      }
      case "TypeCast":
        return {
          k: "cast",
          arg: this.expr(b.arg),
          typeName:
            strs(b.typeName?.names)
              .join(".")
              .replace(/^pg_catalog\./, "") + (b.typeName?.arrayBounds ? "[]" : ""),
          start,
        };
      case "A_Expr":
        return this.aExpr(b, start);
      case "BoolExpr":
        return {
          k: "bool",
          op: b.boolop === "AND_EXPR" ? "and" : b.boolop === "OR_EXPR" ? "or" : "not",
          args: (b.args ?? []).map((a: Any) => this.expr(a)),
          start,
        };
      case "NullTest":
        return { k: "nulltest", arg: this.expr(b.arg), start };
      case "FuncCall": {
        const args = (b.args ?? []).map((a: Any) => this.expr(a));
        const orderBy = this.sortExprs(b.agg_order);
        if (b.agg_filter) args.push(this.expr(b.agg_filter));
        if (b.over) {
          args.push(...(b.over.partitionClause ?? []).map((a: Any) => this.expr(a)));
          orderBy.push(...this.sortExprs(b.over.orderClause));
        }
        return {
          k: "func",
          name: strs(b.funcname).join("."),
          args,
          star: !!b.agg_star,
          distinct: !!b.agg_distinct,
          orderBy,
          start,
        };
      }
      case "SubLink": {
        const kinds: Record<string, "exists" | "any" | "all" | "expr" | "array"> = {
          EXISTS_SUBLINK: "exists",
          ANY_SUBLINK: "any",
          ALL_SUBLINK: "all",
          EXPR_SUBLINK: "expr",
          ARRAY_SUBLINK: "array",
        };
        return {
          k: "sublink",
          kind: kinds[b.subLinkType] ?? "other",
          test: this.optExpr(b.testexpr),
          op: b.operName ? strs(b.operName).join(".") : undefined,
          query: this.query(b.subselect),
          start,
        };
      }
      case "RowExpr":
        return { k: "row", args: (b.args ?? []).map((a: Any) => this.expr(a)), start };
      case "SetToDefault":
        return { k: "default", start };
      case "String":
      case "Integer":
      case "Float":
      case "Boolean":
      case "TypeName":
      case "A_Star":
        return undefined;
      default:
        return { k: "other", what: type, args: this.children(b), start };
    }
  }

  private aExpr(b: Any, start: number): Expr {
    const op = strs(b.name).join(".");
    const left = this.optExpr(b.lexpr);
    switch (b.kind) {
      case "AEXPR_OP":
        return { k: "op", op, left, right: this.expr(b.rexpr), start };
      case "AEXPR_DISTINCT":
      case "AEXPR_NOT_DISTINCT":
        return {
          k: "distinct",
          negated: b.kind === "AEXPR_NOT_DISTINCT",
          left: left!,
          right: this.expr(b.rexpr),
          start,
        };
      case "AEXPR_IN": {
        const items: Any[] = unwrap(b.rexpr)[1]?.items ?? [];
        return { k: "in", left: left!, list: items.map((e) => this.expr(e)), negated: op === "<>", start };
      }
      case "AEXPR_LIKE":
      case "AEXPR_ILIKE":
      case "AEXPR_SIMILAR":
        return {
          k: "like",
          what: b.kind === "AEXPR_LIKE" ? "LIKE" : b.kind === "AEXPR_ILIKE" ? "ILIKE" : "SIMILAR TO",
          left: left!,
          right: this.children(b.rexpr),
          start,
        };
      case "AEXPR_BETWEEN":
      case "AEXPR_NOT_BETWEEN":
      case "AEXPR_BETWEEN_SYM":
      case "AEXPR_NOT_BETWEEN_SYM":
        return { k: "range", what: "BETWEEN", args: [left!, ...this.children(b.rexpr)], start };
      default:
        return {
          k: "other",
          what: b.kind === "AEXPR_OP_ANY" ? `${op} ANY` : b.kind === "AEXPR_OP_ALL" ? `${op} ALL` : b.kind,
          args: [...(left ? [left] : []), ...this.children(b.rexpr)],
          start,
        };
    }
  }
}

function copyFormat(options: Any[] | undefined): "text" | "csv" | "binary" {
  for (const o of options ?? []) {
    const d = unwrap(o)[1];
    if (d?.defname === "format") {
      const v = str(d.arg).toLowerCase();
      return v === "csv" ? "csv" : v === "binary" ? "binary" : "text";
    }
    if (d?.defname === "binary") return "binary";
    if (d?.defname === "csv") return "csv";
  }
  return "text";
}
