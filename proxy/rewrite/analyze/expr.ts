// Expression rules: what each construct may do with a protected column (SPEC §7), which transform a
// parameter or literal needs, and blind-index rewrites of equality predicates.

import type { Expr } from "../ir.js";
import type { ValueTarget } from "../types.js";
import { type AnalysisContext, qualified } from "./context.js";
import { bidxName, type Scope, type ValueClass } from "./scope.js";

/** Analyses a subquery in a child scope; provided by query.ts (breaks the import cycle). */
export type SubqueryAnalyser = (q: import("../ir.js").Query, parent: Scope) => ValueClass[];

const EQUALITY = new Set(["=", "<>", "!="]);
const RANGE = new Set(["<", ">", "<=", ">="]);
const TEXT_TYPES = new Set(["text", "varchar", "pg_catalog.varchar", "pg_catalog.text", "bpchar", "pg_catalog.bpchar"]);

const isEnc = (c: ValueClass) => c.k === "prot" && c.col.protection.protect !== "mac";

export class ExprAnalyser {
  constructor(private readonly sub: SubqueryAnalyser) {}

  eval(e: Expr, scope: Scope): ValueClass {
    const ctx: AnalysisContext = scope.ctx;
    switch (e.k) {
      case "col": {
        if (e.star) {
          const entry = e.names.length ? scope.entryByName(e.names[e.names.length - 1]) : undefined;
          const p = (entry ? [entry] : scope.entries).flatMap((x) => x.columns ?? []).find((c) => c.cls.k === "prot");
          if (p && p.cls.k === "prot") ctx.refuseColumn(p.cls.col, "whole-row references are not supported");
          return { k: "plain" };
        }
        return scope.resolve(e);
      }
      case "param":
        ctx.maxParam = Math.max(ctx.maxParam, e.n);
        return { k: "param", n: e.n };
      case "lit":
        return e.isNull ? { k: "null" } : { k: "lit", start: e.start, negative: e.negative };
      case "default":
        return { k: "default" };
      case "cast": {
        const inner = this.eval(e.arg, scope);
        if (inner.k === "param" || inner.k === "lit")
          return TEXT_TYPES.has(e.typeName.toLowerCase()) ? inner : { k: "typed", inner, typeName: e.typeName };
        if (isEnc(inner) && inner.k === "prot")
          ctx.refuseColumn(inner.col, `casts (::${e.typeName}) are not supported`);
        return inner.k === "null" ? inner : { k: "plain" };
      }
      case "op": {
        const l = e.left ? this.eval(e.left, scope) : undefined;
        const r = this.eval(e.right, scope);
        if (EQUALITY.has(e.op) && l) {
          this.compare(l, r, scope, e.op, e.left, e.right);
          return { k: "plain" };
        }
        for (const c of [l, r]) {
          if (c && isEnc(c) && c.k === "prot")
            ctx.refuseColumn(
              c.col,
              RANGE.has(e.op) ? `range comparison (${e.op}) is not supported` : `operator ${e.op} is not supported`,
            );
        }
        return { k: "plain" };
      }
      case "distinct": {
        this.compare(this.eval(e.left, scope), this.eval(e.right, scope), scope, "IS DISTINCT FROM", e.left, e.right);
        return { k: "plain" };
      }
      case "in": {
        const l = this.eval(e.left, scope);
        for (const item of e.list) this.compare(l, this.eval(item, scope), scope, "IN", e.left, item);
        return { k: "plain" };
      }
      case "like": {
        const cs = [this.eval(e.left, scope), ...e.right.map((r) => this.eval(r, scope))];
        for (const c of cs) if (c.k === "prot" && isEnc(c)) ctx.refuseColumn(c.col, `${e.what} is not supported`);
        return { k: "plain" };
      }
      case "range": {
        for (const a of e.args) {
          const c = this.eval(a, scope);
          if (c.k === "prot" && isEnc(c)) ctx.refuseColumn(c.col, `range comparison (${e.what}) is not supported`);
        }
        return { k: "plain" };
      }
      case "nulltest":
        this.eval(e.arg, scope);
        return { k: "plain" };
      case "bool":
        for (const a of e.args) {
          const c = this.eval(a, scope);
          if (c.k === "prot" && isEnc(c)) ctx.refuseColumn(c.col, "use as a boolean condition is not supported");
        }
        return { k: "plain" };
      case "func": {
        const name = e.name.toLowerCase().replace(/^pg_catalog\./, "");
        if (name === "set_config") ctx.searchPathUncertain = true;
        for (const a of e.args) {
          const c = this.eval(a, scope);
          if (c.k === "prot" && isEnc(c)) {
            const countOk =
              name === "count" &&
              (!e.distinct || c.col.protection.protect === "fpe" || c.col.protection.mode === "deterministic");
            if (!countOk) ctx.refuseColumn(c.col, `function ${e.name}() is not supported`);
          }
        }
        this.refuseOrdering(e.orderBy, scope);
        return { k: "plain" };
      }
      case "sublink": {
        const outs = this.sub(e.query, scope);
        if (e.kind === "expr") return outs[0] ?? { k: "plain" };
        if ((e.kind === "any" || e.kind === "all") && e.test) {
          const op = e.op ?? "=";
          const tests = e.test.k === "row" ? e.test.args : [e.test];
          tests.forEach((t, i) => {
            const tc = this.eval(t, scope);
            const oc = outs[i] ?? { k: "plain" };
            if (EQUALITY.has(op)) this.compare(tc, oc, scope, e.kind === "any" ? "IN (SELECT …)" : `${op} ALL`, t);
            else if ((tc.k === "prot" && isEnc(tc)) || (oc.k === "prot" && isEnc(oc))) {
              const c = tc.k === "prot" ? tc : (oc as Extract<ValueClass, { k: "prot" }>);
              ctx.refuseColumn(c.col, `operator ${op} ${e.kind.toUpperCase()} is not supported`);
            }
          });
        } else if (e.kind !== "exists") {
          for (const oc of outs)
            if (oc.k === "prot" && isEnc(oc)) ctx.refuseColumn(oc.col, `ARRAY(subquery) is not supported`);
        }
        return { k: "plain" };
      }
      case "row":
      case "other": {
        for (const a of e.args) {
          const c = this.eval(a, scope);
          if (c.k === "prot" && isEnc(c))
            ctx.refuseColumn(c.col, `${e.k === "row" ? "row constructors" : describeOther(e.what)} are not supported`);
        }
        return { k: "plain" };
      }
    }
  }

  /** ORDER BY (and ordered aggregates): no ordering on encrypted or FPE columns. */
  refuseOrdering(exprs: Expr[], scope: Scope, outputs?: ValueClass[]): void {
    for (const o of exprs) {
      let c: ValueClass | undefined;
      if (o.k === "col" && o.names.length === 1 && scope.outputAliases?.has(o.names[0]))
        c = scope.outputAliases.get(o.names[0]);
      else if (o.k === "lit" && outputs) {
        const enc = outputs.find((x) => x.k === "prot" && isEnc(x));
        if (enc && enc.k === "prot")
          scope.ctx.refuseColumn(
            enc.col,
            "ORDER BY / GROUP BY by position is not supported when the output has encrypted columns",
          );
        continue;
      } else c = this.eval(o, scope);
      if (c && c.k === "prot" && isEnc(c)) scope.ctx.refuseColumn(c.col, "ORDER BY is not supported");
    }
  }

  /** GROUP BY / DISTINCT ON / DISTINCT: equality semantics, so only deterministic transforms. */
  requireGroupable(c: ValueClass, scope: Scope, what: string): void {
    if (c.k !== "prot" || !isEnc(c)) return;
    const p = c.col.protection;
    if (p.protect === "fpe" || p.mode === "deterministic") return;
    scope.ctx.refuseColumn(c.col, `${what} is not supported (equal values have different ciphertexts)`);
  }

  /** Equality-style comparison between two operands. */
  compare(l: ValueClass, r: ValueClass, scope: Scope, op: string, le?: Expr, re?: Expr): void {
    const ctx: AnalysisContext = scope.ctx;
    if (l.k !== "prot" && r.k === "prot") {
      this.compare(r, l, scope, op, re, le);
      return;
    }
    if (l.k !== "prot") {
      // neither side protected: parameters here are plain values
      for (const c of [l, r]) if (c.k === "param") ctx.useParam(c.n, "plain");
      return;
    }
    const col = l.col;
    const p = col.protection;
    if (p.protect === "mac") {
      if (r.k === "prot" && r.col.protection.protect !== "mac")
        ctx.refuseColumn(r.col, `comparison with the plaintext column "${qualified(col)}" is not supported`);
      if (r.k === "param") ctx.useParam(r.n, "plain");
      return;
    }
    const rnd = p.protect === "encrypt" && p.mode !== "deterministic";
    if (r.k === "prot") {
      const q = r.col.protection;
      if (q.protect === "mac")
        ctx.refuseColumn(col, `comparison with the plaintext column "${qualified(r.col)}" is not supported`);
      if (q.key !== p.key)
        ctx.refuseColumn(
          col,
          `comparison with column "${qualified(r.col)}" encrypted under a different key is not supported`,
        );
      const rrnd = q.protect === "encrypt" && q.mode !== "deterministic";
      if (rnd || rrnd) {
        if (rnd && rrnd && p.blind_index && q.blind_index) {
          this.toBlindIndex(l, scope);
          this.toBlindIndex(r, scope);
          return;
        }
        ctx.refuseColumn(
          rnd && !p.blind_index ? col : r.col,
          `${op} is not supported (randomized encryption without blind index)`,
        );
      }
      if (r.col.ad !== col.ad)
        ctx.refuseColumn(
          col,
          `${op} with column "${qualified(r.col)}" is not supported (ciphertexts are bound to their column)`,
        );
      if (p.protect !== q.protect)
        ctx.refuseColumn(col, `comparison with column "${qualified(r.col)}" of another protection`);
      return;
    }
    let target: ValueTarget | undefined;
    if (rnd) {
      if (r.k === "null") return;
      if (!p.blind_index) ctx.refuseColumn(col, `${op} is not supported (randomized encryption without blind index)`);
      this.toBlindIndex(l, scope);
      target = { transform: "blind-index", column: col };
    } else target = { transform: p.protect === "fpe" ? "fpe" : "encrypt-det", column: col };
    this.bindValue(r, target, scope, `${op}`);
  }

  /** A parameter/literal that must carry `target`'s transform; anything else unprotected is refused. */
  bindValue(v: ValueClass, target: ValueTarget, scope: Scope, what: string): void {
    const ctx: AnalysisContext = scope.ctx;
    switch (v.k) {
      case "param":
        ctx.useParam(v.n, target);
        return;
      case "lit":
        ctx.useLiteral(v.start, v.negative, target);
        return;
      case "null":
        return;
      case "typed":
        if (target.column.protection.protect === "encrypt" || target.transform === "blind-index")
          ctx.refuseColumn(target.column, `a value cast to ${v.typeName} is not supported; send it uncast`);
        this.bindValue(v.inner, target, scope, what);
        return;
      case "default":
        ctx.refuseColumn(target.column, "DEFAULT is not supported");
        return;
      default:
        ctx.refuseColumn(target.column, `${what} with an unencrypted expression or column is not supported`);
    }
  }

  /** Renames a direct column reference to its blind-index companion. */
  private toBlindIndex(c: Extract<ValueClass, { k: "prot" }>, scope: Scope): void {
    const ctx: AnalysisContext = scope.ctx;
    if (!c.ref?.expr || c.ref.expr.start < 0)
      ctx.refuseColumn(c.col, "equality through a derived table or expression is not supported (blind index)");
    const e = c.ref.expr;
    ctx.edits.push({
      kind: "replace",
      start: e.lastStart,
      end: e.end,
      text: ctx.opts.adapter.quoteIdent(bidxName(c.col)),
    });
  }
}

function describeOther(what: string): string {
  const map: Record<string, string> = {
    CaseExpr: "CASE expressions",
    CoalesceExpr: "COALESCE",
    MinMaxExpr: "GREATEST/LEAST",
    A_ArrayExpr: "ARRAY constructors",
    A_Indirection: "subscripts",
    CollateClause: "COLLATE",
    BooleanTest: "IS TRUE/FALSE tests",
    AEXPR_NULLIF: "NULLIF",
  };
  return map[what] ?? (what.endsWith(" ANY") || what.endsWith(" ALL") ? `${what} (array)` : what);
}
