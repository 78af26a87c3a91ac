// Per-analysis state: collects what parameters and literals need, the edits and computed slots, and
// refuses with messages that name the column. Offsets here are statement offsets; the engine maps them.

import { type CatalogTable, protectionOrigin, type SchemaCatalog, type TableName } from "../catalog.js";
import type { DialectAdapter } from "../dialect.js";
import { RewriteRefusal } from "../errors.js";
import type {
  ColumnProtection,
  LiteralRewrite,
  PlanEdit,
  ProtectedColumnRef,
  ProtectionLookup,
  SlotPlan,
  TableOp,
  ValueTarget,
  ValueTransform,
} from "../types.js";

export interface AnalysisOptions {
  catalog: SchemaCatalog;
  protection: ProtectionLookup;
  /** "schema.table" names the policy protects (even when the catalog does not know them). */
  protectedTables: ReadonlySet<string>;
  /** Schemas searched for unqualified table names, in order. */
  searchPath: string[];
  adapter: DialectAdapter;
  /** Start offsets of literal tokens in source order (index = ordinal). */
  literalStarts: number[];
}

export function describeProtection(p: ColumnProtection): string {
  if (p.protect === "fpe") return `format-preserving (${p.format ?? "?"})`;
  if (p.protect === "mac") return "integrity-protected";
  return p.mode === "deterministic" ? "deterministic" : p.blind_index ? "randomized, blind index" : "randomized";
}

export function qualified(c: ProtectedColumnRef): string {
  return `${c.schema}.${c.table}.${c.column}`;
}

/** Transform for a value written into (or compared as equal with) a protected column. */
export function writeTransform(p: ColumnProtection): Exclude<ValueTransform, "blind-index"> {
  if (p.protect === "fpe") return "fpe";
  if (p.protect === "mac") return "none";
  return p.mode === "deterministic" ? "encrypt-det" : "encrypt-rnd";
}

export class AnalysisContext {
  readonly params = new Map<number, ValueTarget | "plain">();
  readonly literals = new Map<number, LiteralRewrite>();
  readonly slots: SlotPlan[] = [];
  readonly edits: PlanEdit[] = [];
  readonly touched = new Set<string>();
  readonly tableOps = new Map<string, Set<TableOp>>();
  readonly columnsRead = new Set<string>();
  readonly columnsWritten = new Set<string>();
  maxParam = 0;
  /** search_path in force for the statement being analysed (SET search_path earlier in the text changes it). */
  searchPath: string[];
  /** set_config() or RESET changed search_path to something unknown: unqualified protected names are refused. */
  searchPathUncertain = false;
  /** The plan depends on literal values (SET search_path = '…'): never cache it. */
  uncacheable = false;
  private readonly literalIndex = new Map<number, number>();

  constructor(readonly opts: AnalysisOptions) {
    this.searchPath = [...opts.searchPath];
    opts.literalStarts.forEach((s, i) => {
      this.literalIndex.set(s, i);
    });
  }

  noteTable(table: string, op: TableOp): void {
    this.touched.add(table);
    let s = this.tableOps.get(table);
    if (!s) this.tableOps.set(table, (s = new Set()));
    s.add(op);
  }

  noteColumn(c: ProtectedColumnRef, written: boolean): void {
    (written ? this.columnsWritten : this.columnsRead).add(`${c.schema}.${c.table}.${c.column}`);
  }

  /** Clears the per-statement records (touched tables, accesses). */
  startStatement(): void {
    this.touched.clear();
    this.tableOps.clear();
    this.columnsRead.clear();
    this.columnsWritten.clear();
  }

  refuse(message: string, sqlstate = "0A000", column?: string): never {
    throw new RewriteRefusal(message, sqlstate, column);
  }

  refuseColumn(c: ProtectedColumnRef, what: string): never {
    this.refuse(
      `column "${qualified(c)}" is ${describeProtection(c.protection).startsWith("integrity") ? "integrity-protected" : `encrypted (${describeProtection(c.protection)})`}: ${what}`,
      "0A000",
      qualified(c),
    );
  }

  /** Resolves an unqualified table name through the search path; schema-qualified names are looked up directly. */
  resolveTable(
    schema: string | undefined,
    name: string,
  ): CatalogTable | { schema: string; name: string; columns?: undefined } {
    if (schema) return this.opts.catalog.table(schema, name) ?? { schema, name };
    if (this.searchPathUncertain) {
      const lower = `.${name.toLowerCase()}`;
      const hit = [...this.opts.protectedTables].find((t) => t.endsWith(lower));
      if (hit)
        this.refuse(
          `search_path is changed in this statement text; qualify "${name}" with its schema (protected table "${hit}")`,
        );
    }
    for (const s of this.searchPath) {
      const t = this.opts.catalog.table(s, name);
      if (t) return t;
    }
    // unknown everywhere: the first schema of the path is where the server would look first
    return { schema: this.searchPath[0] ?? "public", name };
  }

  /** The protected table governing `t` (itself or a protected ancestor), "view" for views over one. */
  origin(t: TableName): TableName | "view" | undefined {
    return protectionOrigin(this.opts.catalog, t, (x) =>
      this.opts.protectedTables.has(`${x.schema}.${x.name}`.toLowerCase()),
    );
  }

  protectionOf(schema: string, table: string, column: string): ProtectedColumnRef | undefined {
    const p = this.opts.protection(`${schema}.${table}`, column);
    if (!p) return undefined;
    return { schema, table, column, ad: `${schema}.${table}.${column}`.toLowerCase(), protection: p };
  }

  /** Ordinal of the literal token at `start` (or the first literal after a unary minus at `start`). */
  literalOrdinal(start: number, negative: boolean): number {
    const exact = this.literalIndex.get(start);
    if (exact !== undefined && !negative) return exact;
    const idx = this.opts.literalStarts.findIndex((s) => s > start);
    if (negative && idx >= 0) return idx;
    if (exact !== undefined) return exact;
    return this.refuse("cannot locate a literal in the statement text", "XX000");
  }

  useParam(n: number, target: ValueTarget | "plain"): void {
    const prev = this.params.get(n);
    if (prev === undefined || (prev === "plain" && target === "plain")) {
      this.params.set(n, target);
      return;
    }
    if (prev === "plain" || target === "plain") {
      const col = prev === "plain" ? (target as ValueTarget).column : prev.column;
      this.refuse(`parameter $${n} is used both for column "${qualified(col)}" and for an unprotected value`);
    }
    if (prev.transform !== target.transform || prev.column.ad !== target.column.ad) {
      if (
        prev.transform === target.transform &&
        prev.transform === "blind-index" &&
        prev.column.protection.key === target.column.protection.key
      )
        return;
      this.refuse(
        `parameter $${n} is used for columns "${qualified(prev.column)}" and "${qualified(target.column)}" that need different encryption`,
      );
    }
  }

  useLiteral(start: number, negative: boolean, target: ValueTarget): number {
    const ordinal = this.literalOrdinal(start, negative);
    this.literals.set(ordinal, { ordinal, target, ...(negative ? { minusAt: start } : {}) });
    return ordinal;
  }

  addSlot(slot: SlotPlan): number {
    this.slots.push(slot);
    return this.slots.length - 1;
  }
}
