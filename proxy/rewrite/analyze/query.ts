// Query analysis: FROM scopes (tables, subqueries, CTEs, joins with USING / NATURAL), select lists with
// `*` expansion, set operations, VALUES, and the output column classes each query level produces.

import type { FromItem, Query, SelectQuery, Target, With } from "../ir.js";
import type { ResultColumn } from "../types.js";
import { type AnalysisContext, qualified } from "./context.js";
import { ExprAnalyser } from "./expr.js";
import { type ColInfo, type Entry, hasProtected, Scope, tableColumns, type ValueClass } from "./scope.js";

export interface OutputColumn {
  name: string;
  cls: ValueClass;
  /** Companion column reached through `*` (hidden from the client). */
  companion?: boolean;
  /** Stands for the columns of a `*` over a table the catalog does not know (count unknown). */
  unknown?: boolean;
}

/** Hook for DML queries inside CTEs and statements (set by dml.ts). */
export type DmlAnalyser = (q: Query, scope: Scope) => OutputColumn[];

export class QueryAnalyser {
  readonly exprs: ExprAnalyser;
  dml?: DmlAnalyser;

  constructor() {
    this.exprs = new ExprAnalyser((q, parent) => this.query(q, new Scope(parent.ctx, parent)).map((o) => o.cls));
  }

  query(q: Query, scope: Scope): OutputColumn[] {
    this.with(q.with, scope);
    switch (q.k) {
      case "select":
        return this.select(q, scope);
      case "setop": {
        const left = this.query(q.left, new Scope(scope.ctx, scope));
        const right = this.query(q.right, new Scope(scope.ctx, scope));
        const out = left.map((l, i) => ({ name: l.name, cls: this.mergeSetOp(l.cls, right[i]?.cls, q, scope) }));
        const outScope = new Scope(scope.ctx, scope);
        outScope.outputAliases = new Map(out.map((o) => [o.name, o.cls]));
        this.exprs.refuseOrdering(
          q.orderBy,
          outScope,
          out.map((o) => o.cls),
        );
        for (const m of q.misc) this.exprs.eval(m, scope);
        return out;
      }
      case "values": {
        const width = q.rows[0]?.length ?? 0;
        for (const row of q.rows)
          for (const e of row) {
            const c = this.exprs.eval(e, scope);
            if (c.k === "prot" && c.col.protection.protect !== "mac")
              scope.ctx.refuseColumn(c.col, "use in a VALUES list is not supported");
          }
        for (const m of q.misc) this.exprs.eval(m, scope);
        return Array.from({ length: width }, (_, i) => ({ name: `column${i + 1}`, cls: { k: "plain" } as ValueClass }));
      }
      default:
        if (!this.dml) throw new Error("DML analyser not configured");
        return this.dml(q, scope);
    }
  }

  private with(w: With | undefined, scope: Scope): void {
    if (!w) return;
    for (const cte of w.ctes) {
      if (w.recursive && cte.query.k === "setop") {
        // the non-recursive arm defines the columns the recursive arm sees
        const seed = this.query(cte.query.left, new Scope(scope.ctx, scope));
        scope.ctes.set(cte.name, { name: cte.name, columns: renameCols(seed, cte.columns) });
      }
      const out = this.query(cte.query, new Scope(scope.ctx, scope));
      scope.ctes.set(cte.name, { name: cte.name, columns: renameCols(out, cte.columns) });
    }
  }

  private mergeSetOp(l: ValueClass, r: ValueClass | undefined, q: Query & { k: "setop" }, scope: Scope): ValueClass {
    const ctx: AnalysisContext = scope.ctx;
    const right = r ?? { k: "plain" };
    const lp = l.k === "prot" ? l : undefined;
    const rp = right.k === "prot" ? right : undefined;
    if (!lp && !rp) return { k: "plain" };
    if (lp && rp) {
      if (lp.col.ad !== rp.col.ad)
        ctx.refuseColumn(lp.col, `${q.op.toUpperCase()} with column "${qualified(rp.col)}" is not supported`);
    } else {
      const p = (lp ?? rp)!;
      const other = lp ? right : l;
      if (other.k !== "null")
        ctx.refuseColumn(p.col, `${q.op.toUpperCase()} with an unencrypted value is not supported`);
    }
    const p = (lp ?? rp)!;
    if (!q.all || q.op !== "union")
      this.exprs.requireGroupable(p, scope, `${q.op.toUpperCase()}${q.all ? " ALL" : ""}`);
    return { k: "prot", col: p.col };
  }

  select(q: SelectQuery, scope: Scope): OutputColumn[] {
    for (const f of q.from) this.addFrom(f, scope);
    const out = this.targets(q.targets, scope);
    if (q.where) this.condition(q.where, scope);
    if (q.having) this.condition(q.having, scope);
    for (const g of q.groupBy) {
      // GROUP BY name: an input column first, else an output column of that name (PostgreSQL rule)
      const alias =
        g.k === "col" &&
        g.names.length === 1 &&
        !scope.entries.some((e) => e.columns?.some((c) => c.name === g.names[0]))
          ? out.find((o) => o.name === g.names[0])
          : undefined;
      const c = g.k === "lit" ? undefined : alias ? alias.cls : this.exprs.eval(g, scope);
      if (g.k === "lit")
        this.exprs.refuseOrdering(
          [g],
          scope,
          out.map((o) => o.cls),
        );
      else if (c) this.exprs.requireGroupable(c, scope, "GROUP BY");
    }
    for (const d of q.distinctOn) this.exprs.requireGroupable(this.exprs.eval(d, scope), scope, "DISTINCT ON");
    if (q.distinct && q.distinctOn.length === 0)
      for (const o of out) this.exprs.requireGroupable(o.cls, scope, "DISTINCT");
    scope.outputAliases = new Map(out.map((o) => [o.name, o.cls]));
    this.exprs.refuseOrdering(
      q.orderBy,
      scope,
      out.map((o) => o.cls),
    );
    for (const m of q.misc) this.exprs.eval(m, scope);
    if (q.into) {
      const p = out.find((o) => o.cls.k === "prot");
      if (p && p.cls.k === "prot") scope.ctx.refuseColumn(p.cls.col, "SELECT INTO would copy it into a new table");
    }
    return out;
  }

  condition(e: import("../ir.js").Expr, scope: Scope): void {
    const c = this.exprs.eval(e, scope);
    if (c.k === "prot" && c.col.protection.protect !== "mac")
      scope.ctx.refuseColumn(c.col, "use as a boolean condition is not supported");
  }

  /** Output columns of a select list (and RETURNING), expanding `*` and `t.*`. */
  targets(targets: Target[], scope: Scope): OutputColumn[] {
    const out: OutputColumn[] = [];
    let unknownWidth: string | undefined;
    const push = (o: OutputColumn) => {
      if (unknownWidth && o.cls.k === "prot")
        scope.ctx.refuseColumn(
          o.cls.col,
          `its position in the output is unknown (columns of "${unknownWidth}" are not in the catalog)`,
        );
      out.push(o);
    };
    for (const t of targets) {
      const e = t.expr;
      if (e.k === "col" && e.star) {
        const entries = e.names.length
          ? scope.entries.filter((x) => x.refName === e.names[e.names.length - 1])
          : scope.starEntries;
        for (const en of entries) {
          const cols = en.starColumns ?? en.columns;
          if (!cols) {
            unknownWidth = en.refName;
            out.push({ name: "*", cls: { k: "plain" }, unknown: true });
            continue;
          }
          for (const c of cols) {
            if (c.cls.k === "prot") scope.ctx.noteColumn(c.cls.col, false);
            push({
              name: c.name,
              cls: c.cls.k === "prot" && en.table ? { k: "prot", col: c.cls.col, ref: { entry: en } } : c.cls,
              companion: c.companion,
            });
          }
        }
        continue;
      }
      const cls = this.exprs.eval(e, scope);
      const name =
        t.alias ??
        (e.k === "col" ? e.names[e.names.length - 1] : e.k === "func" ? e.name.split(".").pop()! : "?column?");
      push({ name, cls: cls.k === "param" || cls.k === "lit" || cls.k === "typed" ? { k: "plain" } : cls });
    }
    return out;
  }

  /** Adds a FROM item's entries to the scope. */
  addFrom(f: FromItem, scope: Scope): void {
    const entries = this.fromEntries(f, scope);
    scope.starEntries.push(...entries.star);
    scope.entries.push(...entries.all);
  }

  /** `all`: entries visible for qualified names; `star`: entries `*` expands, in order. */
  private fromEntries(f: FromItem, scope: Scope): { all: Entry[]; star: Entry[] } {
    const ctx: AnalysisContext = scope.ctx;
    switch (f.k) {
      case "table": {
        const t = f.table;
        const cte = !t.schema ? scope.findCte(t.name) : undefined;
        if (cte) {
          const e: Entry = {
            refName: f.alias ?? t.name,
            columns: renameColInfos(cte.columns, f.colAliases),
            qualifier: ctx.opts.adapter.quoteIdent(f.alias ?? t.name),
          };
          return { all: [e], star: [e] };
        }
        const e = this.tableEntry(t.schema, t.name, f.alias, f.colAliases, scope);
        return { all: [e], star: [e] };
      }
      case "sub": {
        // a plain subquery sees outer levels and this level's CTEs, not its sibling FROM entries
        let parent = scope;
        if (!f.lateral) {
          parent = new Scope(ctx, scope.parent);
          for (const [k, v] of scope.ctes) parent.ctes.set(k, v);
        }
        const out = this.query(f.query, new Scope(ctx, parent));
        const e: Entry = {
          refName: f.alias ?? "?subquery?",
          columns: renameColInfos(
            out.map((o) => ({ name: o.name, cls: stripRef(o.cls), companion: o.companion })),
            f.colAliases,
          ),
          qualifier: ctx.opts.adapter.quoteIdent(f.alias ?? ""),
        };
        return { all: [e], star: [e] };
      }
      case "join": {
        const l = this.fromEntries(f.left, scope);
        const r = this.fromEntries(f.right, scope);
        const lcols = starColumns(l.star);
        const rcols = starColumns(r.star);
        let using = f.using;
        if (f.natural) {
          if (!lcols || !rcols) {
            if ([...l.all, ...r.all].some(hasProtected))
              ctx.refuse("NATURAL JOIN with a table whose columns are unknown is not supported on protected tables");
            using = [];
          } else using = lcols.filter((c) => !c.companion && rcols.some((d) => d.name === c.name)).map((c) => c.name);
        }
        const all = [...l.all, ...r.all];
        const joinScope = new Scope(ctx, scope);
        joinScope.entries.push(...scope.entries, ...all);
        for (const u of using ?? []) {
          const lc = lcols?.find((c) => c.name === u)?.cls ?? { k: "plain" };
          const rc = rcols?.find((c) => c.name === u)?.cls ?? { k: "plain" };
          // USING has no column references to rename, so a blind-index join must be written with ON
          this.exprs.compare(stripRef(lc), stripRef(rc), joinScope, "JOIN USING");
          scope.usingMerged.add(u);
        }
        if (f.on) this.condition(f.on, joinScope);
        if (!using?.length && !f.alias) return { all, star: [...l.star, ...r.star] };
        let cols: ColInfo[] | undefined;
        if (lcols && rcols) {
          const merged = (using ?? []).map((u) => lcols.find((c) => c.name === u)).filter((c): c is ColInfo => !!c);
          cols = [
            ...merged,
            ...lcols.filter((c) => !using?.includes(c.name)),
            ...rcols.filter((c) => !using?.includes(c.name)),
          ].map((c) => ({ ...c, cls: stripRef(c.cls) }));
        }
        const joined: Entry = { refName: f.alias ?? "?join?", columns: cols, qualifier: "" };
        return { all: f.alias ? [joined] : all, star: [joined] };
      }
      case "opaque": {
        for (const a of f.args) this.exprs.eval(a, scope);
        const e: Entry = { refName: f.alias ?? `?${f.what}?`, qualifier: "", columns: undefined };
        return { all: [e], star: [e] };
      }
    }
  }

  tableEntry(
    schema: string | undefined,
    name: string,
    alias: string | undefined,
    colAliases: string[] | undefined,
    scope: Scope,
    op: import("../types.js").TableOp = "select",
  ): Entry {
    const ctx: AnalysisContext = scope.ctx;
    const t = ctx.resolveTable(schema, name);
    const origin = t.columns ? ctx.origin(t) : undefined;
    if (origin === "view")
      ctx.refuse(`view "${t.schema}.${t.name}" reads a protected table: query the table itself through smgate`);
    // partitions and inheritance children use their protected ancestor's protection and associated data
    const gov = origin ?? t;
    const columns = t.columns
      ? tableColumns(
          ctx,
          gov.schema,
          gov.name,
          t.columns.map((c) => c.name),
        )
      : undefined;
    if (!columns) {
      const candidates = schema ? [schema] : ctx.searchPath;
      const prot = candidates.find((s) => ctx.opts.protectedTables.has(`${s}.${name}`.toLowerCase()));
      if (prot !== undefined)
        ctx.refuse(`table "${prot}.${name}" is protected but its columns are not in the catalog`, "42P01");
    }
    if (columns?.some((c) => c.cls.k === "prot")) ctx.noteTable(`${t.schema}.${t.name}`, op);
    const q = ctx.opts.adapter.quoteIdent;
    return {
      refName: alias ?? name,
      schema: alias ? undefined : t.schema,
      table: { schema: t.schema, name: t.name },
      columns: columns && colAliases ? renameColInfos(columns, colAliases) : columns,
      qualifier: alias ? q(alias) : `${q(t.schema)}.${q(t.name)}`,
    };
  }
}

function starColumns(entries: Entry[]): ColInfo[] | undefined {
  const out: ColInfo[] = [];
  for (const e of entries) {
    const cols = e.starColumns ?? e.columns;
    if (!cols) return undefined;
    out.push(...cols);
  }
  return out;
}

function stripRef(c: ValueClass): ValueClass {
  return c.k === "prot" ? { k: "prot", col: c.col } : c;
}

function renameCols(out: OutputColumn[], names: string[] | undefined): ColInfo[] {
  return renameColInfos(
    out.map((o) => ({ name: o.name, cls: o.cls.k === "prot" ? { k: "prot", col: o.cls.col } : o.cls })),
    names,
  );
}

function renameColInfos(cols: ColInfo[], names: string[] | undefined): ColInfo[] {
  if (!names) return cols;
  return cols.map((c, i) => (i < names.length ? { ...c, name: names[i] } : c));
}

/** Result columns for the gateway from output columns. */
export function toResultColumns(out: OutputColumn[]): ResultColumn[] {
  return out.map((o) => ({
    name: o.name,
    ...(o.cls.k === "prot" ? { source: o.cls.col } : {}),
    ...(o.companion ? { hidden: true } : {}),
  }));
}
