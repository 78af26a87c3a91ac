// Loads the golden rewrite cases (test/rewrite/golden/*.yaml for PostgreSQL, test/rewrite/golden-mysql/*.yaml
// for MySQL/MariaDB, each folder with its own _schema.yaml) and runs one through the engine, producing a
// summary comparable with the case's `expect` block. Also used to render docs/SQL.md. Parameters print as
// `$n` (PostgreSQL) or `?n` (MySQL: the n-th `?` placeholder).

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import {
  applyRewrites,
  type CatalogSpec,
  type ColumnProtection,
  type DialectAdapter,
  InMemoryCatalog,
  RewriteEngine,
  type StatementPlan,
  type ValueSource,
} from "../../proxy/rewrite/index.js";

export const GOLDEN_DIR = join(import.meta.dirname, "golden");
export const GOLDEN_MYSQL_DIR = join(import.meta.dirname, "golden-mysql");

type PolicyDoc = Record<string, { row_key?: string[]; columns: Record<string, Omit<ColumnProtection, "rowKey">> }>;

export interface GoldenCase {
  file: string;
  /** Folder the case was loaded from (its _schema.yaml applies). */
  dir?: string;
  title: string;
  section: string;
  mode?: string;
  sql: string;
  search_path?: string[];
  policy?: PolicyDoc;
  catalog?: CatalogSpec;
  dialects?: string[];
  expect: GoldenExpect;
}

export interface GoldenExpect {
  passthrough?: boolean;
  refusal?: string;
  sqlstate?: string;
  rewritten?: string;
  params?: Record<string, string>;
  results?: string[];
  mac_checks?: string[];
}

export function loadGoldenCases(dir = GOLDEN_DIR): GoldenCase[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") && !f.startsWith("_"))
    .sort()
    .map((f) => ({ file: f, dir, ...(parse(readFileSync(join(dir, f), "utf8")) as Omit<GoldenCase, "file">) }));
}

/** The folder's shared policy, catalog and (optionally) default search path / current database. */
export const sharedSchema = (dir = GOLDEN_DIR) =>
  parse(readFileSync(join(dir, "_schema.yaml"), "utf8")) as {
    policy: PolicyDoc;
    catalog: CatalogSpec;
    search_path?: string[];
  };

export function engineFor(c: GoldenCase, adapter: DialectAdapter): RewriteEngine {
  const base = sharedSchema(c.dir);
  const policy = c.policy ?? base.policy;
  const catalog = new InMemoryCatalog(c.catalog ?? base.catalog);
  return new RewriteEngine({
    adapter,
    catalog,
    protectedTables: Object.keys(policy),
    protection: (table, column) => {
      const t = policy[table];
      const p = t?.columns[column];
      return p ? { ...p, ...(t.row_key ? { rowKey: t.row_key } : {}) } : undefined;
    },
  });
}

const SHORT: Record<string, string> = {
  "encrypt-rnd": "RND",
  "encrypt-det": "DET",
  fpe: "FPE",
  "blind-index": "BIDX",
};

/** What the engine did with a case, in the vocabulary of the golden files. */
export function runCase(c: GoldenCase, adapter: DialectAdapter): GoldenExpect {
  const engine = engineFor(c, adapter);
  const a = engine.analyse(c.sql, { searchPath: c.search_path ?? sharedSchema(c.dir).search_path });
  return summarise(c.sql, a.plan, a.shape, adapter.name === "mysql" ? "?" : "$");
}

function summarise(
  sql: string,
  plan: StatementPlan,
  shape: Parameters<typeof applyRewrites>[1],
  p = "$",
): GoldenExpect {
  if (plan.refusal) return { refusal: plan.refusal.message, sqlstate: plan.refusal.sqlstate };
  if (plan.passthrough) return { passthrough: true };
  const out: GoldenExpect = {};
  const lit = (ordinal: number) => sql.slice(shape.literals[ordinal].start, shape.literals[ordinal].end);
  const src = (v: ValueSource) =>
    v.kind === "param"
      ? `${p}${v.n}`
      : v.kind === "literal"
        ? (v.negative ? "-" : "") + lit(v.ordinal)
        : v.kind.toUpperCase();
  const literals = new Map<number, string>();
  for (const l of plan.literals)
    literals.set(l.ordinal, `ENC_${SHORT[l.target.transform]}(${l.minusAt !== undefined ? "-" : ""}${lit(l.ordinal)})`);
  const slots = plan.slots.map((s) =>
    s.kind === "blind-index"
      ? `BIDX(${src(s.value)})`
      : `MAC(${src(s.value)}; ${s.rowKey.map((k) => `${k.column}=${src(k.value)}`).join(", ")})`,
  );
  out.rewritten = applyRewrites(sql, shape, plan, { literals, slots });
  const params: Record<string, string> = {};
  for (const x of plan.params)
    if (x.target) params[`${p}${x.n}`] = `${SHORT[x.target.transform]} ${x.target.column.ad}`;
  if (Object.keys(params).length) out.params = params;
  const last = [...plan.parts].reverse().find((p) => p.resultColumns || p.copy);
  const cols = last?.resultColumns ?? last?.copy?.columns;
  if (cols?.some((r) => r.source || r.hidden))
    out.results = cols.map(
      (r) =>
        `${r.name}${r.source ? ` <- ${r.source.ad}` : ""}${r.hidden ? " (hidden)" : ""}${
          r.computed
            ? ` = ${r.computed.kind === "mac" ? "MAC" : "BIDX"}(#${r.computed.valueIndex}${r.computed.rowKeyIndexes ? `; row key #${r.computed.rowKeyIndexes.join(",#")}` : ""})`
            : ""
        }`,
    );
  const checks = plan.parts.flatMap((p) => p.macChecks);
  if (checks.length)
    out.mac_checks = checks.map(
      (m) => `${m.column.ad}: value #${m.valueIndex}, mac #${m.macIndex}, row key #${m.rowKeyIndexes.join(",#")}`,
    );
  return out;
}
