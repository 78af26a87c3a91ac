// Name scopes: FROM entries per query level (tables, derived tables, CTEs), column classes, and PostgreSQL
// resolution of qualified / unqualified column references, through correlated outer levels.

import type { ColRefExpr } from "../ir.js";
import type { ProtectedColumnRef } from "../types.js";
import type { AnalysisContext } from "./context.js";
import { qualified } from "./context.js";

/** What a value is, as far as protection goes. */
export type ValueClass =
  | { k: "plain" }
  | { k: "prot"; col: ProtectedColumnRef; ref?: DirectRef }
  | { k: "param"; n: number }
  | { k: "lit"; start: number; negative: boolean }
  | { k: "null" }
  | { k: "default" }
  | { k: "typed"; inner: ValueClass; typeName: string };

/** A column reference that names a base-table column directly (so it can be renamed or qualified). */
export interface DirectRef {
  expr?: ColRefExpr;
  entry: Entry;
}

export interface ColInfo {
  name: string;
  cls: ValueClass;
  /** A companion column (<col>_bidx / <col>_mac) smgate maintains: hidden from `*`. */
  companion?: boolean;
}

export interface Entry {
  refName: string;
  /** Set for base tables referenced without alias (they may be qualified by schema). */
  schema?: string;
  table?: { schema: string; name: string };
  /** undefined: columns unknown (never a protected table). */
  columns?: ColInfo[];
  /** Text that qualifies a column of this entry in the statement (alias or schema.table). */
  qualifier: string;
  /** For `*`: columns in output order when this entry is a join with USING / NATURAL. */
  starColumns?: ColInfo[];
  /** MySQL ON DUPLICATE KEY UPDATE's inserted row: its columns are written `VALUES(col)`, never unqualified. */
  valuesFunction?: boolean;
}

export interface CteInfo {
  name: string;
  columns: ColInfo[];
}

export class Scope {
  readonly entries: Entry[] = [];
  /** Entries in FROM order for `*` expansion (joins flattened with merged USING columns first). */
  readonly starEntries: Entry[] = [];
  readonly usingMerged = new Set<string>();
  readonly ctes = new Map<string, CteInfo>();
  /** Output column names of the query level (ORDER BY may reference them). */
  outputAliases?: Map<string, ValueClass>;

  constructor(
    readonly ctx: AnalysisContext,
    readonly parent?: Scope,
  ) {}

  findCte(name: string): CteInfo | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const c = s.ctes.get(name);
      if (c) return c;
    }
    return undefined;
  }

  /** Resolves a column reference to its class; refuses when a protected column could be meant ambiguously. */
  resolve(ref: ColRefExpr): ValueClass {
    const names = ref.names;
    if (names.length === 1) return this.resolveUnqualified(ref, names[0]);
    const col = names[names.length - 1];
    const rel = names[names.length - 2];
    const schema = names.length >= 3 ? names[names.length - 3] : undefined;
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const matches = s.entries.filter((e) => e.refName === rel && (!schema || e.schema === schema));
      if (matches.length > 1 && matches.some(hasProtected))
        this.ctx.refuse(`table reference "${rel}" is ambiguous in a statement on a protected table`, "42P09");
      const e = matches[0];
      if (!e) continue;
      if (!e.columns) return { k: "plain" };
      const c = e.columns.find((x) => x.name === col);
      if (!c) return { k: "plain" }; // the server reports the unknown column
      return this.note(withRef(c.cls, e, ref));
    }
    return { k: "plain" };
  }

  private note(c: ValueClass): ValueClass {
    if (c.k === "prot") this.ctx.noteColumn(c.col, false);
    return c;
  }

  private resolveUnqualified(ref: ColRefExpr, name: string): ValueClass {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const found: { e: Entry; c: ColInfo }[] = [];
      let unknown = false;
      for (const e of s.entries) {
        if (e.valuesFunction) continue;
        if (!e.columns) {
          unknown = true;
          continue;
        }
        const c = e.columns.find((x) => x.name === name);
        if (c) found.push({ e, c });
      }
      if (found.length > 1 && !s.usingMerged.has(name)) {
        const prot = found.find((f) => f.c.cls.k === "prot");
        if (prot && prot.c.cls.k === "prot")
          this.ctx.refuse(
            `column reference "${name}" is ambiguous (it may mean "${qualified(prot.c.cls.col)}")`,
            "42702",
          );
        return { k: "plain" };
      }
      if (found.length >= 1) return this.note(withRef(found[0].c.cls, found[0].e, ref));
      if (unknown) {
        // It may belong to a table whose columns are unknown, or to an outer level: refuse if that could be protected.
        for (let o = s.parent; o; o = o.parent) {
          for (const e of o.entries) {
            const c = e.columns?.find((x) => x.name === name);
            if (c && c.cls.k === "prot")
              this.ctx.refuse(
                `column reference "${name}" cannot be resolved safely (it may mean "${qualified(c.cls.col)}"); qualify it`,
                "42702",
              );
          }
        }
        return { k: "plain" };
      }
      // whole-row reference to a FROM entry?
      const whole = s.entries.find((e) => e.refName === name);
      if (whole) {
        const p = whole.columns?.find((c) => c.cls.k === "prot");
        if (p && p.cls.k === "prot") this.ctx.refuseColumn(p.cls.col, "whole-row references are not supported");
        return { k: "plain" };
      }
    }
    return { k: "plain" };
  }

  entryByName(rel: string): Entry | undefined {
    return this.entries.find((e) => e.refName === rel);
  }
}

export function hasProtected(e: Entry): boolean {
  return !!e.columns?.some((c) => c.cls.k === "prot");
}

function withRef(cls: ValueClass, entry: Entry, expr: ColRefExpr): ValueClass {
  if (cls.k !== "prot") return cls;
  // only base-table columns are direct; derived columns keep no reference
  return entry.table ? { k: "prot", col: cls.col, ref: { expr, entry } } : { k: "prot", col: cls.col };
}

/** Columns of a base table with their protection; companion columns marked. */
export function tableColumns(ctx: AnalysisContext, schema: string, table: string, names: string[]): ColInfo[] {
  const prot = new Map<string, ProtectedColumnRef>();
  for (const n of names) {
    const p = ctx.protectionOf(schema, table, n);
    if (p) prot.set(n, p);
  }
  const companions = new Set<string>();
  for (const p of prot.values()) {
    if (p.protection.blind_index && p.protection.protect === "encrypt") companions.add(bidxName(p));
    if (p.protection.protect === "mac") companions.add(macName(p));
  }
  return names.map((n) => {
    const p = prot.get(n);
    return { name: n, cls: p ? { k: "prot", col: p } : { k: "plain" }, companion: companions.has(n) || undefined };
  });
}

export const bidxName = (c: ProtectedColumnRef): string => c.protection.bidxColumn ?? `${c.column}_bidx`;
export const macName = (c: ProtectedColumnRef): string => c.protection.macColumn ?? `${c.column}_mac`;
