// SchemaCatalog: table → ordered columns, as the gateway reads it from information_schema. An in-memory
// implementation serves tests and the gateway's loaded snapshot.

export interface CatalogColumn {
  name: string;
  type: string;
}

export interface TableName {
  schema: string;
  name: string;
}

export interface CatalogTable {
  schema: string;
  name: string;
  columns: CatalogColumn[];
  /** Partition or inheritance child of this table: protection and associated data follow the parent. */
  inherits?: TableName;
  /** A view and the relations it reads (views over protected tables are refused: their columns cannot be mapped). */
  viewOf?: TableName[];
}

export interface SchemaCatalog {
  /** Exact (case-sensitive, already case-folded by the caller) lookup; undefined when the table is unknown. */
  table(schema: string, name: string): CatalogTable | undefined;
  /** Every table (lets the engine's cheap pre-check also look for partitions and views of protected tables). */
  all?(): Iterable<CatalogTable>;
}

/**
 * The protected table whose protection applies to `t` (itself, or the protected ancestor of a partition /
 * inheritance child), or "view" when `t` is a view reading a protected table; undefined otherwise.
 */
export function protectionOrigin(
  catalog: SchemaCatalog,
  t: TableName,
  isProtected: (t: TableName) => boolean,
  depth = 0,
): TableName | "view" | undefined {
  if (isProtected(t)) return t;
  if (depth > 16) return undefined;
  const entry = catalog.table(t.schema, t.name);
  if (entry?.inherits) {
    const parent = protectionOrigin(catalog, entry.inherits, isProtected, depth + 1);
    if (parent) return parent;
  }
  for (const v of entry?.viewOf ?? []) if (protectionOrigin(catalog, v, isProtected, depth + 1)) return "view";
  return undefined;
}

/** Catalog spec per "schema.table": a column list, or columns plus `inherits` / `viewOf` ("schema.table" names). */
export type CatalogSpec = Record<
  string,
  (CatalogColumn | string)[] | { columns: (CatalogColumn | string)[]; inherits?: string; viewOf?: string[] }
>;

const splitName = (qualified: string): TableName => {
  const dot = qualified.indexOf(".");
  if (dot <= 0) throw new Error(`catalog table name "${qualified}" must be schema.table`);
  return { schema: qualified.slice(0, dot), name: qualified.slice(dot + 1) };
};

/** Catalog from a spec object (tests, fixtures) or a list of tables (the gateway's information_schema snapshot). */
export class InMemoryCatalog implements SchemaCatalog {
  private readonly tables = new Map<string, CatalogTable>();

  constructor(tables: CatalogTable[] | CatalogSpec = []) {
    if (Array.isArray(tables)) {
      for (const t of tables) this.add(t);
      return;
    }
    for (const [qualified, spec] of Object.entries(tables)) {
      const cols = Array.isArray(spec) ? spec : spec.columns;
      this.add({
        ...splitName(qualified),
        columns: cols.map((c) => (typeof c === "string" ? { name: c, type: "text" } : c)),
        ...(!Array.isArray(spec) && spec.inherits ? { inherits: splitName(spec.inherits) } : {}),
        ...(!Array.isArray(spec) && spec.viewOf ? { viewOf: spec.viewOf.map(splitName) } : {}),
      });
    }
  }

  add(t: CatalogTable): void {
    this.tables.set(`${t.schema}\u0000${t.name}`, t);
  }

  table(schema: string, name: string): CatalogTable | undefined {
    return this.tables.get(`${schema}\u0000${name}`);
  }

  all(): Iterable<CatalogTable> {
    return this.tables.values();
  }
}
