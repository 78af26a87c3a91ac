// INSERT / UPDATE / DELETE: values flowing into protected columns (parameters, literals), companion
// columns (<col>_bidx blind index, <col>_mac integrity MAC) written as computed slots, ON CONFLICT, RETURNING.

import type { Assignment, Expr, InsertQuery, Query, UpdateQuery } from "../ir.js";
import type { ProtectedColumnRef, SlotPlan, ValueSource } from "../types.js";
import { type AnalysisContext, qualified, writeTransform } from "./context.js";
import type { OutputColumn, QueryAnalyser } from "./query.js";
import { bidxName, type ColInfo, type Entry, macName, Scope, type ValueClass } from "./scope.js";

export class DmlAnalyser {
  constructor(private readonly qa: QueryAnalyser) {
    qa.dml = (q, scope) => this.dml(q, scope);
  }

  dml(q: Query, scope: Scope): OutputColumn[] {
    switch (q.k) {
      case "insert":
        return this.insert(q, scope);
      case "update":
        return this.update(q, scope);
      case "delete": {
        const target = this.targetEntry(q.table.schema, q.table.name, q.alias, scope, "delete");
        for (const u of q.using) this.qa.addFrom(u, scope);
        if (!q.targetInFrom) {
          scope.entries.unshift(target);
          scope.starEntries.unshift(target);
        }
        if (q.where) this.qa.condition(q.where, scope);
        this.orderAndLimit(q.orderBy, q.misc, scope);
        return this.qa.targets(q.returning, scope);
      }
      default:
        return this.qa.query(q, scope);
    }
  }

  /** MySQL UPDATE / DELETE … ORDER BY … LIMIT …: no ordering on encrypted columns. */
  private orderAndLimit(orderBy: Expr[] | undefined, misc: Expr[] | undefined, scope: Scope): void {
    if (orderBy?.length) this.qa.exprs.refuseOrdering(orderBy, scope);
    for (const m of misc ?? []) this.qa.exprs.eval(m, scope);
  }

  private targetEntry(
    schema: string | undefined,
    name: string,
    alias: string | undefined,
    scope: Scope,
    op: "insert" | "update" | "delete",
  ): Entry {
    return this.qa.tableEntry(schema, name, alias, undefined, scope, op);
  }

  private insert(q: InsertQuery, scope: Scope): OutputColumn[] {
    const ctx: AnalysisContext = scope.ctx;
    const target = this.targetEntry(q.table.schema, q.table.name, q.alias, scope, "insert");
    const all = target.columns;
    const protectedTable = !!all?.some((c) => c.cls.k === "prot");
    if (!all || !protectedTable) {
      // unprotected target: the source must not carry protected values into it
      const outs = q.source === "default-values" ? [] : this.sourceClasses(q.source, scope);
      for (const o of outs)
        if (o.k === "prot")
          ctx.refuseColumn(
            o.col,
            `copying it into the unprotected table "${target.table?.schema}.${target.table?.name}" is not supported`,
          );
      if (q.onConflict) this.onConflict(q, target, [], scope);
      return this.returning(q, target, scope);
    }
    // a query source is analysed first: its output width (after `*` expansion) decides the target columns
    const plainValues = q.source !== "default-values" && q.source.k === "values" && !q.source.with;
    const queryOuts =
      q.source === "default-values" || plainValues ? undefined : this.qa.query(q.source, new Scope(ctx, scope));
    if (queryOuts?.some((o) => o.unknown))
      ctx.refuse(
        `INSERT … SELECT into "${target.table?.schema}.${target.table?.name}": the source columns are not all known (table missing from the catalog)`,
      );
    const width = queryOuts ? queryOuts.length : q.source === "default-values" ? 0 : sourceWidth(q.source);
    const visible = all.filter((c) => !c.companion);
    const cols: ColInfo[] = q.columns
      ? q.columns.map((c) => {
          const info = all.find((x) => x.name === c.name);
          if (!info) return { name: c.name, cls: { k: "plain" } };
          if (info.companion)
            ctx.refuse(
              `column "${target.table!.schema}.${target.table!.name}.${c.name}" is maintained by smgate and cannot be written`,
            );
          return info;
        })
      : visible.slice(0, width);
    const companions = companionsOf(all, ctx);
    if (q.source === "default-values") {
      if (companions.length)
        ctx.refuse(
          `INSERT … DEFAULT VALUES is not supported on "${target.table!.schema}.${target.table!.name}" (blind index / MAC columns)`,
        );
      return this.returning(q, target, scope);
    }
    const src = q.source;
    /** The values of a single inserted row (ON CONFLICT on the row key may use them for MACs). */
    const insertedRow = new Map<string, ValueClass>();
    if (src.k === "values" && !src.with) {
      src.rows.forEach((row, r) => {
        const classes = row.map((e) => this.qa.exprs.eval(e, scope));
        if (src.rows.length === 1) for (const [i, c] of cols.entries()) insertedRow.set(c.name, classes[i]);
        const valueFor = (name: string): ValueClass | undefined => {
          const i = cols.findIndex((c) => c.name === name);
          return i < 0 ? undefined : classes[i];
        };
        cols.forEach((c, i) => {
          this.assign(c, classes[i] ?? { k: "plain" }, scope, "INSERT");
        });
        if (!companions.length) return;
        const at = src.rowEnds[r];
        if (at === undefined) ctx.refuse("cannot locate the end of a VALUES row to add companion columns");
        const qi = ctx.opts.adapter.quoteIdent;
        for (const comp of companions) {
          const slot = this.companionSlot(comp, valueFor(comp.column.column), valueFor, ctx, "INSERT");
          const prefix = q.setForm ? `, ${qi(comp.companion)} = ` : ", ";
          ctx.edits.push({ kind: "slot", at, slot, prefix, suffix: "" });
        }
      });
    } else {
      const outs = this.sourceClasses(src, scope, queryOuts);
      if (outs.length !== cols.length)
        ctx.refuse(`INSERT … SELECT gives ${outs.length} values for ${cols.length} columns`, "42601");
      cols.forEach((c, i) => {
        this.assign(c, outs[i], scope, "INSERT … SELECT");
      });
      if (companions.length) {
        ctx.refuseColumn(
          companions[0].column,
          "INSERT … SELECT into a table with blind-index or MAC columns is not supported",
        );
      }
    }
    if (companions.length && !q.setForm) {
      if (q.columnsInsertAt === undefined) ctx.refuse("cannot locate the INSERT column list");
      const qi = ctx.opts.adapter.quoteIdent;
      const names = companions.map((c) => qi(c.companion)).join(", ");
      ctx.edits.push(
        q.columns
          ? { kind: "insert", at: q.columnsInsertAt, text: `, ${names}` }
          : { kind: "insert", at: q.columnsInsertAt, text: ` (${cols.map((c) => qi(c.name)).join(", ")}, ${names})` },
      );
    }
    if (q.onConflict) this.onConflict(q, target, companions, scope, insertedRow);
    return this.returning(q, target, scope);
  }

  private returning(q: InsertQuery, target: Entry, scope: Scope): OutputColumn[] {
    const rs = new Scope(scope.ctx, scope.parent);
    rs.entries.push(target);
    rs.starEntries.push(target);
    return this.qa.targets(q.returning, rs);
  }

  private onConflict(
    q: InsertQuery,
    target: Entry,
    companions: Companion[],
    scope: Scope,
    insertedRow = new Map<string, ValueClass>(),
  ): void {
    const oc = q.onConflict!;
    const s = new Scope(scope.ctx, scope.parent);
    s.entries.push(target, {
      ...target,
      refName: "excluded",
      schema: undefined,
      qualifier: "excluded",
      ...(q.valuesFunction ? { valuesFunction: true } : {}),
    });
    // the conflict target names the target table's columns only (EXCLUDED is not visible there)
    const inferScope = new Scope(scope.ctx, scope.parent);
    inferScope.entries.push(target);
    for (const e of oc.inferExprs) this.qa.exprs.eval(e, inferScope);
    // the conflicting row has the inserted row's values in the conflict target columns
    const conflictCols = oc.inferExprs.flatMap((e) => (e.k === "col" && e.names.length === 1 ? [e.names[0]] : []));
    const known = new Map([...insertedRow].filter(([k]) => conflictCols.includes(k)));
    if (oc.action === "update") this.assignments(oc.set, target, companions, s, undefined, known);
    if (oc.where) this.qa.condition(oc.where, s);
  }

  private sourceClasses(src: Query, scope: Scope, analysed?: OutputColumn[]): ValueClass[] {
    if (src.k === "values" && !src.with) {
      // parameters/literals of a plain VALUES source keep their identity for the target columns
      const rows = src.rows.map((r) => r.map((e) => this.qa.exprs.eval(e, scope)));
      if (rows.length === 1) return rows[0];
      return (rows[0] ?? []).map((_, i) => rows.map((r) => r[i]).find((c) => c?.k === "prot") ?? { k: "plain" });
    }
    if (src.k === "select" && src.from.length === 0 && !src.with && !src.targets.some((t) => t.expr.k === "col"))
      // SELECT $1, 'x' (no FROM): values keep their identity (already analysed: re-evaluate classes only)
      return src.targets.map((t, i) => classOfConstant(t.expr) ?? analysed?.[i]?.cls ?? { k: "plain" });
    return (analysed ?? this.qa.query(src, new Scope(scope.ctx, scope))).map((o) => o.cls);
  }

  /** A value written into column `c`. */
  assign(c: ColInfo, v: ValueClass, scope: Scope, what: string): void {
    const ctx: AnalysisContext = scope.ctx;
    if (c.cls.k !== "prot") {
      if (v.k === "prot") ctx.refuseColumn(v.col, `${what} would copy it into the unprotected column "${c.name}"`);
      if (v.k === "param") ctx.useParam(v.n, "plain");
      return;
    }
    const col = c.cls.col;
    ctx.noteColumn(col, true);
    if (v.k === "prot") {
      if (v.col.ad === col.ad) return;
      if (v.col.protection.key !== col.protection.key)
        ctx.refuseColumn(
          col,
          `${what} from column "${qualified(v.col)}" encrypted under a different key is not supported`,
        );
      ctx.refuseColumn(
        col,
        `${what} from column "${qualified(v.col)}" is not supported (ciphertexts are bound to their column)`,
      );
    }
    if (col.protection.protect === "mac") {
      if (v.k === "param") ctx.useParam(v.n, "plain");
      else if (v.k !== "lit" && v.k !== "null" && v.k !== "typed")
        ctx.refuseColumn(
          col,
          `${what} of a computed value is not supported (the MAC needs the value): use a parameter or a literal`,
        );
      return;
    }
    if (v.k === "plain")
      ctx.refuseColumn(
        col,
        `${what} of an unencrypted column or expression is not supported: use a parameter or a literal`,
      );
    this.qa.exprs.bindValue(v, { transform: writeTransform(col.protection) as never, column: col }, scope, what);
  }

  private update(q: UpdateQuery, scope: Scope): OutputColumn[] {
    const ctx: AnalysisContext = scope.ctx;
    let target = this.targetEntry(q.table.schema, q.table.name, q.alias, scope, "update");
    for (const f of q.from) this.qa.addFrom(f, scope);
    if (q.targetInFrom) {
      // the target is one of the FROM items: use that entry (its column references point at it)
      const refName = q.alias ?? q.table.name;
      const inFrom = scope.entries.filter((e) => e.refName === refName && e.table);
      if (inFrom.length !== 1) ctx.refuse(`UPDATE target "${refName}" is not one table of the statement`, "42P09");
      target = inFrom[0];
    } else {
      scope.entries.unshift(target);
      scope.starEntries.unshift(target);
    }
    const companions = companionsOf(target.columns ?? [], ctx);
    this.assignments(q.set, target, companions, scope, q.where, undefined, !!q.targetInFrom);
    if (q.where) this.qa.condition(q.where, scope);
    this.orderAndLimit(q.orderBy, q.misc, scope);
    return this.qa.targets(q.returning, scope);
  }

  /** SET list of UPDATE or ON CONFLICT DO UPDATE, with companion assignments prepended. */
  private assignments(
    set: Assignment[],
    target: Entry,
    companions: Companion[],
    scope: Scope,
    where?: Expr,
    known = new Map<string, ValueClass>(),
    /** Multi-table UPDATE (MySQL): companion assignments name the target table. */
    qualified = false,
  ): void {
    const ctx: AnalysisContext = scope.ctx;
    const cols = target.columns ?? [];
    const assigned = new Map<string, ValueClass>();
    for (const a of set) {
      const c = cols.find((x) => x.name === a.column) ?? { name: a.column, cls: { k: "plain" } as ValueClass };
      if (c.companion)
        ctx.refuse(
          `column "${target.table!.schema}.${target.table!.name}.${a.column}" is maintained by smgate and cannot be written`,
        );
      const v = this.qa.exprs.eval(a.value, scope);
      this.assign(c, v, scope, "UPDATE");
      assigned.set(a.column, v);
    }
    if (!companions.length || !set.length) return;
    const rowKeyFromWhere = where ? equalityValues(where, target, scope) : new Map<string, ValueClass>();
    const valueFor = (name: string) => assigned.get(name) ?? rowKeyFromWhere.get(name) ?? known.get(name);
    const at = set[0].start;
    const qi = ctx.opts.adapter.quoteIdent;
    const lhs = (name: string) => (qualified ? `${target.qualifier}.${qi(name)}` : qi(name));
    for (const comp of companions) {
      const p = comp.column.protection;
      const v = assigned.get(comp.column.column);
      const rowKeyChanged = p.protect === "mac" && (p.rowKey ?? []).some((k) => assigned.has(k));
      if (v === undefined && !rowKeyChanged) continue;
      if (v === undefined)
        ctx.refuseColumn(
          comp.column,
          `changing its row key (${(p.rowKey ?? []).join(", ")}) requires setting the column in the same statement`,
        );
      if (v.k === "prot") {
        // v is the same column (EXCLUDED.col or col itself): copy its companion alongside
        const src = v.ref?.entry;
        if (!src) ctx.refuseColumn(comp.column, "assigning it from a derived value is not supported");
        if (src === target && !rowKeyChanged) continue;
        if (p.protect === "mac" && src !== target && src.refName !== "excluded")
          ctx.refuseColumn(comp.column, "assigning it from another row is not supported (MAC row key)");
        const from = src.valuesFunction ? `VALUES(${qi(comp.companion)})` : `${src.qualifier}.${qi(comp.companion)}`;
        ctx.edits.push({ kind: "insert", at, text: `${lhs(comp.companion)} = ${from}, ` });
        continue;
      }
      const slot = this.companionSlot(comp, v, valueFor, ctx, "UPDATE");
      ctx.edits.push({ kind: "slot", at, slot, prefix: `${lhs(comp.companion)} = `, suffix: ", " });
    }
  }

  private companionSlot(
    comp: Companion,
    v: ValueClass | undefined,
    valueFor: (name: string) => ValueClass | undefined,
    ctx: AnalysisContext,
    what: string,
  ): number {
    const value = sourceOf(v ?? { k: "null" }, ctx);
    if (!value)
      ctx.refuseColumn(
        comp.column,
        `${what} needs the value as a parameter or literal to compute its ${comp.kind === "mac" ? "MAC" : "blind index"}`,
      );
    if (comp.kind === "blind-index") return ctx.addSlot({ kind: "blind-index", column: comp.column, value });
    const rowKey = (comp.column.protection.rowKey ?? []).map((k) => {
      const src = sourceOf(valueFor(k), ctx);
      if (!src || src.kind === "null")
        ctx.refuseColumn(
          comp.column,
          `${what} must give row key column "${k}" as a parameter or literal (needed for its MAC)`,
        );
      return { column: k, value: src };
    });
    if (!comp.column.protection.rowKey?.length)
      ctx.refuseColumn(comp.column, "the policy gives no row_key for its MAC");
    const slot: SlotPlan = { kind: "mac", column: comp.column, value, rowKey };
    return ctx.addSlot(slot);
  }
}

interface Companion {
  kind: "blind-index" | "mac";
  column: ProtectedColumnRef;
  companion: string;
}

function companionsOf(cols: ColInfo[], ctx?: AnalysisContext): Companion[] {
  const out: Companion[] = [];
  for (const c of cols) {
    if (c.cls.k !== "prot") continue;
    const p = c.cls.col.protection;
    if (p.protect === "encrypt" && p.blind_index)
      out.push({ kind: "blind-index", column: c.cls.col, companion: bidxName(c.cls.col) });
    if (p.protect === "mac") out.push({ kind: "mac", column: c.cls.col, companion: macName(c.cls.col) });
  }
  for (const o of out)
    if (!cols.some((c) => c.name === o.companion))
      ctx?.refuseColumn(o.column, `its companion column "${o.companion}" is missing from the table`);
  return out;
}

function sourceOf(v: ValueClass | undefined, ctx: AnalysisContext): ValueSource | undefined {
  if (!v) return undefined;
  if (v.k === "typed") return sourceOf(v.inner, ctx);
  if (v.k === "param") return { kind: "param", n: v.n };
  if (v.k === "lit")
    return {
      kind: "literal",
      ordinal: ctx.literalOrdinal(v.start, v.negative),
      ...(v.negative ? { negative: true } : {}),
    };
  if (v.k === "null") return { kind: "null" };
  return undefined;
}

function sourceWidth(q: Query): number {
  if (q.k === "values") return q.rows[0]?.length ?? 0;
  if (q.k === "select") return q.targets.length;
  if (q.k === "setop") return sourceWidth(q.left);
  return 0;
}

/** `col = param|literal` conjuncts of a WHERE clause on the target table. */
function equalityValues(where: Expr, target: Entry, scope: Scope): Map<string, ValueClass> {
  const out = new Map<string, ValueClass>();
  const visit = (e: Expr) => {
    if (e.k === "bool" && e.op === "and") e.args.forEach(visit);
    else if (e.k === "op" && e.op === "=" && e.left) {
      for (const [c, v] of [
        [e.left, e.right],
        [e.right, e.left],
      ] as const) {
        if (c.k !== "col" || (v.k !== "param" && v.k !== "lit")) continue;
        const name = c.names[c.names.length - 1];
        const rel = c.names.length > 1 ? c.names[c.names.length - 2] : undefined;
        if (rel !== undefined && rel !== target.refName) continue;
        if (rel === undefined && scope.entries.some((x) => x !== target && x.columns?.some((y) => y.name === name)))
          continue;
        out.set(
          name,
          v.k === "param"
            ? { k: "param", n: v.n }
            : v.isNull
              ? { k: "null" }
              : { k: "lit", start: v.start, negative: v.negative },
        );
      }
    }
  };
  visit(where);
  return out;
}

/** Class of a parameter / literal / NULL expression (optionally cast), without side effects. */
function classOfConstant(e: Expr): ValueClass | undefined {
  if (e.k === "param") return { k: "param", n: e.n };
  if (e.k === "lit") return e.isNull ? { k: "null" } : { k: "lit", start: e.start, negative: e.negative };
  if (e.k === "cast") {
    const inner = classOfConstant(e.arg);
    if (!inner || inner.k === "null") return inner;
    return /^(text|varchar|bpchar)$/i.test(e.typeName) ? inner : { k: "typed", inner, typeName: e.typeName };
  }
  return undefined;
}
