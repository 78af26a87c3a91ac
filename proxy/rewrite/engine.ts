// RewriteEngine: the gateway's entry point. Cheap pre-check → shape key → plan cache (lru-cache) → on a
// miss, parse + analyse and cache the literal-free plan. Policy or catalog change → clear().

import { LRUCache } from "lru-cache";
import { AnalysisContext } from "./analyze/context.js";
import { analyseStatements } from "./analyze/statement.js";
import { type CatalogTable, protectionOrigin, type SchemaCatalog, type TableName } from "./catalog.js";
import type { DialectAdapter } from "./dialect.js";
import { RewriteRefusal, UnsupportedNode } from "./errors.js";
import { type ShapeKey, statementToKeyOffset } from "./shape-key.js";
import { applyRewrites } from "./splice.js";
import type { PlanEdit, ProtectionLookup, StatementPlan } from "./types.js";

export interface RewriteEngineOptions {
  adapter: DialectAdapter;
  catalog: SchemaCatalog;
  protection: ProtectionLookup;
  /** "schema.table" names the policy protects. */
  protectedTables: Iterable<string>;
  cacheSize?: number;
}

export interface SessionInfo {
  /** Resolved search_path schemas ("$user" substituted), default ["public"]. */
  searchPath?: readonly string[];
}

export interface AnalysedStatement {
  plan: StatementPlan;
  /** The statement's own shape (literal spans, offsets) to apply the plan with applyRewrites(). */
  shape: ShapeKey;
  cached: boolean;
}

const PASSTHROUGH: StatementPlan = Object.freeze({
  passthrough: true,
  parts: [],
  paramCount: 0,
  params: [],
  literals: [],
  literalCount: 0,
  slots: [],
  edits: [],
  rewrites: false,
}) as StatementPlan;

const EMPTY_SHAPE: ShapeKey = { key: "", literals: [], segments: [], exact: false };

export class RewriteEngine {
  private readonly cache: LRUCache<string, StatementPlan>;
  private readonly protectedNames: Set<string>;
  private readonly protectedTables: Set<string>;
  private readonly catalog: SchemaCatalog;
  private readonly protection: ProtectionLookup;
  private folded = new WeakMap<CatalogTable, CatalogTable>();
  private readonly foldedProtection = new Map<string, ReturnType<ProtectionLookup>>();
  readonly stats = { hits: 0, misses: 0, passthrough: 0, uncacheable: 0 };

  constructor(private readonly opts: RewriteEngineOptions) {
    this.cache = new LRUCache({ max: opts.cacheSize ?? 10_000 });
    this.protectedTables = new Set([...opts.protectedTables].map((t) => t.toLowerCase()));
    this.protectedNames = new Set();
    this.catalog = opts.catalog;
    this.protection = opts.protection;
    if (opts.adapter.caseInsensitiveColumns) {
      this.catalog = this.lowerCaseCatalog(opts.catalog);
      this.protection = (table, column) => this.lowerCaseProtection(table, column);
    }
    this.refreshNames();
  }

  /** The catalog with lower-case column names (dialects with case-insensitive column names). */
  private lowerCaseCatalog(catalog: SchemaCatalog): SchemaCatalog {
    const fold = (t: CatalogTable | undefined): CatalogTable | undefined => {
      if (!t) return t;
      let f = this.folded.get(t);
      if (!f) {
        f = { ...t, columns: t.columns.map((c) => ({ ...c, name: c.name.toLowerCase() })) };
        this.folded.set(t, f);
      }
      return f;
    };
    return {
      table: (schema, name) => fold(catalog.table(schema, name)),
      ...(catalog.all ? { all: () => [...catalog.all!()].map((t) => fold(t)!) } : {}),
    };
  }

  /** Policy lookup by a lower-case column name: asks with the catalog's spelling, lower-cases the names it returns. */
  private lowerCaseProtection(table: string, column: string): ReturnType<ProtectionLookup> {
    const key = `${table}\u0000${column}`;
    if (this.foldedProtection.has(key)) return this.foldedProtection.get(key);
    const dot = table.indexOf(".");
    const entry = this.opts.catalog.table(table.slice(0, dot), table.slice(dot + 1));
    const spelled = entry?.columns.find((c) => c.name.toLowerCase() === column)?.name ?? column;
    const p = this.opts.protection(table, spelled);
    const out = p && {
      ...p,
      ...(p.rowKey ? { rowKey: p.rowKey.map((k) => k.toLowerCase()) } : {}),
      ...(p.bidxColumn ? { bidxColumn: p.bidxColumn.toLowerCase() } : {}),
      ...(p.macColumn ? { macColumn: p.macColumn.toLowerCase() } : {}),
    };
    this.foldedProtection.set(key, out);
    return out;
  }

  /** Names the cheap pre-check looks for: protected tables, their partitions / children and views over them. */
  private refreshNames(): void {
    this.protectedNames.clear();
    for (const t of this.protectedTables) this.protectedNames.add(t.slice(t.indexOf(".") + 1));
    const isProtected = (t: TableName) => this.protectedTables.has(`${t.schema}.${t.name}`.toLowerCase());
    for (const t of this.catalog.all?.() ?? [])
      if (protectionOrigin(this.catalog, t, isProtected)) this.protectedNames.add(t.name.toLowerCase());
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /**
   * The value (as the server would read it) of literal `ordinal` of an analysed statement; `negative` for
   * literals written after a unary minus (LiteralRewrite.minusAt / ValueSource.negative).
   */
  literalValue(sql: string, a: AnalysedStatement, ordinal: number, negative = false): string {
    const span = a.shape.literals[ordinal];
    if (!span) throw new RewriteRefusal("statement does not match its plan (literal)", "XX000");
    const v = this.opts.adapter.decodeLiteral(sql.slice(span.start, span.end));
    return negative ? `-${v}` : v;
  }

  /** Plaintext values of the literals the plan rewrites, aligned with `a.plan.literals`. */
  literalValues(sql: string, a: AnalysedStatement): string[] {
    return a.plan.literals.map((l) => this.literalValue(sql, a, l.ordinal, l.minusAt !== undefined));
  }

  /**
   * The statement with `plan.literals[i]` replaced by `encrypted[i]` (plain values: quoted here as literals)
   * and slot i by `slots[i]` (already rendered SQL: a literal or `$n`).
   */
  rewrite(sql: string, a: AnalysedStatement, encrypted: readonly string[], slots: readonly string[] = []): string {
    const literals = new Map(a.plan.literals.map((l, i) => [l.ordinal, this.opts.adapter.quoteLiteral(encrypted[i])]));
    return applyRewrites(sql, a.shape, a.plan, { literals, slots });
  }

  /** Drop every cached plan (policy reload, catalog change; the catalog object may have been updated in place). */
  clear(): void {
    this.cache.clear();
    this.foldedProtection.clear();
    this.folded = new WeakMap();
    this.refreshNames();
  }

  analyse(sql: string, session: SessionInfo = {}): AnalysedStatement {
    const adapter = this.opts.adapter;
    if (!adapter.mayTouch(sql, this.protectedNames)) {
      this.stats.passthrough++;
      return { plan: PASSTHROUGH, shape: EMPTY_SHAPE, cached: true };
    }
    const searchPath = session.searchPath?.length ? [...session.searchPath] : ["public"];
    const shape = adapter.shapeKey(sql);
    const cacheKey = `${searchPath.join(",")}\u0001${shape.key}`;
    if (shape.exact) {
      const hit = this.cache.get(cacheKey);
      if (hit && hit.literalCount === shape.literals.length) {
        this.stats.hits++;
        return { plan: hit, shape, cached: true };
      }
    }
    this.stats.misses++;
    const { plan, cacheable } = this.plan(sql, shape, searchPath);
    if (cacheable) this.cache.set(cacheKey, plan);
    else this.stats.uncacheable++;
    return { plan, shape, cached: false };
  }

  private plan(sql: string, shape: ShapeKey, searchPath: string[]): { plan: StatementPlan; cacheable: boolean } {
    let parsed: ReturnType<DialectAdapter["parse"]>;
    try {
      parsed = this.opts.adapter.parse(sql);
    } catch (e) {
      if (e instanceof RewriteRefusal) return { plan: refusalPlan(e), cacheable: false };
      if (e instanceof UnsupportedNode) return { plan: refusalPlan(new RewriteRefusal(e.message)), cacheable: false };
      return { plan: internalErrorPlan(e), cacheable: false };
    }
    const lexOk =
      parsed.literalSpans.length === shape.literals.length &&
      parsed.literalSpans.every((s, i) => s.start === shape.literals[i].start && s.end === shape.literals[i].end);
    const ctx = new AnalysisContext({
      catalog: this.catalog,
      protection: this.protection,
      protectedTables: this.protectedTables,
      searchPath,
      adapter: this.opts.adapter,
      literalStarts: parsed.literalSpans.map((s) => s.start),
    });
    let plan: StatementPlan;
    try {
      const parts = analyseStatements(parsed.statements, ctx);
      const passthrough = parts.every((p) => p.protectedTables.length === 0) && ctx.edits.length === 0;
      const params = Array.from({ length: ctx.maxParam }, (_, i) => {
        const t = ctx.params.get(i + 1);
        return { n: i + 1, ...(t && t !== "plain" ? { target: t } : {}) };
      });
      const literals = [...ctx.literals.values()].sort((a, b) => a.ordinal - b.ordinal);
      const rewrites = literals.length > 0 || ctx.edits.length > 0;
      if (rewrites && !(shape.exact && lexOk))
        throw new RewriteRefusal(
          "statement needs rewriting but uses constructs the fast scanner cannot locate exactly (e.g. U&'…' strings); use parameters",
        );
      plan = {
        passthrough,
        parts,
        paramCount: ctx.maxParam,
        params,
        literals: literals.map((l) =>
          l.minusAt !== undefined ? { ...l, minusAt: statementToKeyOffset(shape, l.minusAt) } : l,
        ),
        literalCount: shape.literals.length,
        slots: ctx.slots,
        edits: dedupe(ctx.edits).map((e) => toKeyOffsets(e, shape)),
        rewrites,
      };
    } catch (e) {
      if (e instanceof RewriteRefusal)
        return { plan: refusalPlan(e), cacheable: shape.exact && lexOk && !ctx.uncacheable };
      if (e instanceof UnsupportedNode) return { plan: refusalPlan(new RewriteRefusal(e.message)), cacheable: false };
      return { plan: internalErrorPlan(e), cacheable: false };
    }
    return { plan, cacheable: shape.exact && lexOk && !ctx.uncacheable };
  }
}

/** A bug in the analyser must not let a statement through: refuse it (not cached), naming no values. */
function internalErrorPlan(e: unknown): StatementPlan {
  const what = e instanceof Error ? e.name : typeof e;
  return refusalPlan(new RewriteRefusal(`statement could not be analysed (internal ${what}); refused`, "XX000"));
}

function refusalPlan(e: RewriteRefusal): StatementPlan {
  const refusal = { sqlstate: e.sqlstate, message: e.message, ...(e.column ? { column: e.column } : {}) };
  return { ...PASSTHROUGH, passthrough: false, refusal };
}

function dedupe(edits: PlanEdit[]): PlanEdit[] {
  const seen = new Set<string>();
  return edits.filter((e) => {
    if (e.kind !== "replace") return true;
    const k = `${e.start}:${e.end}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function toKeyOffsets(e: PlanEdit, shape: ShapeKey): PlanEdit {
  if (e.kind === "replace")
    return { ...e, start: statementToKeyOffset(shape, e.start), end: statementToKeyOffset(shape, e.end) };
  return { ...e, at: statementToKeyOffset(shape, e.at) };
}
