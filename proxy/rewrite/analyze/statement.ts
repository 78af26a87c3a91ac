// Statement-level analysis: one StatementPart per statement of the text (query, COPY, utility), MAC
// verification columns appended to SELECT lists, and fail-closed handling of everything else.

import { RewriteRefusal } from "../errors.js";
import type { Query, Statement } from "../ir.js";
import type { MacCheck, ResultColumn, StatementKind, StatementPart } from "../types.js";
import { type AnalysisContext, qualified } from "./context.js";
import { DmlAnalyser } from "./dml.js";
import { type OutputColumn, QueryAnalyser, toResultColumns } from "./query.js";
import { bidxName, type ColInfo, type Entry, macName, Scope } from "./scope.js";

export function analyseStatements(statements: Statement[], ctx: AnalysisContext): StatementPart[] {
  const qa = new QueryAnalyser();
  new DmlAnalyser(qa);
  return statements.map((s) => {
    ctx.startStatement();
    const part = analyseOne(s, ctx, qa);
    part.protectedTables = [...ctx.touched].sort();
    part.tableAccess = [...ctx.tableOps]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([table, ops]) => ({ table, ops: [...ops].sort() }));
    part.columnsRead = [...ctx.columnsRead].sort();
    part.columnsWritten = [...ctx.columnsWritten].sort();
    return part;
  });
}

function analyseOne(s: Statement, ctx: AnalysisContext, qa: QueryAnalyser): StatementPart {
  switch (s.k) {
    case "query": {
      const out = qa.query(s.query, new Scope(ctx));
      const kind: StatementKind = s.query.k === "setop" || s.query.k === "values" ? "select" : s.query.k;
      const returnsRows = kind === "select" || ("returning" in s.query && s.query.returning.length > 0);
      const macChecks: MacCheck[] = [];
      let resultColumns: ResultColumn[] | undefined;
      if (returnsRows) {
        resultColumns = toResultColumns(out);
        if (kind === "select") macVerification(s.query, out, resultColumns, macChecks, ctx);
      }
      return { kind, ...blankAccess(), resultColumns, macChecks };
    }
    case "copy": {
      if (s.query) {
        const out = qa.query(s.query, new Scope(ctx));
        const mac = out.find((o) => o.cls.k === "prot" && o.cls.col.protection.protect === "mac");
        if (mac && mac.cls.k === "prot") ctx.refuseColumn(mac.cls.col, "COPY (query) TO cannot verify its MAC");
        return copyPart(s, toResultColumns(out), ctx);
      }
      const scope = new Scope(ctx);
      const entry = qa.tableEntry(
        s.table!.schema,
        s.table!.name,
        undefined,
        undefined,
        scope,
        s.direction === "from" ? "insert" : "select",
      );
      for (const c of entry.columns ?? [])
        if (c.cls.k === "prot" && (!s.columns || s.columns.includes(c.name)))
          ctx.noteColumn(c.cls.col, s.direction === "from");
      const cols = entry.columns;
      if (!cols?.some((c) => c.cls.k === "prot")) return copyPart(s, undefined, ctx);
      const chosen = s.columns
        ? s.columns.map((n) => cols.find((c) => c.name === n) ?? { name: n, cls: { k: "plain" as const } })
        : cols;
      if (s.direction === "from" && s.columns && chosen.some((c) => c.companion))
        ctx.refuse(
          `COPY FROM cannot write the companion column "${chosen.find((c) => c.companion)!.name}" (maintained by smgate)`,
        );
      if (s.direction === "from" && cols.some((c) => c.companion)) return copyFromWithCompanions(s, entry, cols, ctx);
      const out: OutputColumn[] = chosen.map((c) => ({ name: c.name, cls: c.cls, companion: c.companion }));
      const mac = out.find((o) => o.cls.k === "prot" && o.cls.col.protection.protect === "mac");
      if (mac && mac.cls.k === "prot" && s.direction === "to")
        ctx.refuseColumn(mac.cls.col, "COPY TO cannot verify its MAC");
      return copyPart(s, toResultColumns(out), ctx);
    }
    case "utility": {
      const kind: StatementKind =
        s.kind === "transaction" || s.kind === "set" || s.kind === "merge"
          ? s.kind
          : s.kind === "other"
            ? "other"
            : "utility";
      if (s.setting?.name === "search_path") {
        ctx.uncacheable = true;
        const v = s.setting.values;
        if (v && !v.some((x) => x.includes("$"))) ctx.searchPath = v;
        else ctx.searchPathUncertain = true;
      }
      if (s.opaqueCode)
        ctx.refuse(
          `${s.what.replace(/Stmt$/, "")} statements are refused while tables are protected: their code can write protected tables unseen`,
        );
      const hit = s.tables
        .map((t) => ctx.resolveTable(t.schema, t.name))
        .find((t) => ctx.origin(t) !== undefined || searchPathHit(ctx, t.name));
      if (s.inner) {
        if (s.what === "PrepareStmt" || s.what === "DeclareCursorStmt") {
          let inner: StatementPart | undefined;
          try {
            inner = analyseOne(s.inner, ctx, qa);
          } catch (e) {
            // a statement on a protected table is refused as such, whatever else it does (its literals may sit
            // inside a string, MySQL's PREPARE … FROM '…', where they cannot be located)
            if (!(e instanceof RewriteRefusal) || ctx.touched.size === 0) throw e;
          }
          if (ctx.touched.size > 0 || !inner)
            ctx.refuse(
              `${s.what === "PrepareStmt" ? "SQL-level PREPARE" : "DECLARE CURSOR"} of a statement on protected table "${[...ctx.touched][0]}" is not supported: use protocol-level prepared statements`,
            );
          return { ...inner, kind: "utility" };
        }
        const inner = analyseOne(s.inner, ctx, qa);
        return {
          kind: "utility",
          ...blankAccess(),
          macChecks: [],
          resultColumns: undefined,
          ...(inner.kind ? {} : {}),
        };
      }
      if (hit && !s.safe)
        ctx.refuse(
          `${s.what.replace(/Stmt$/, "")} on protected table "${hit.schema}.${hit.name}" is not supported through smgate`,
        );
      if (hit) ctx.touched.add(`${hit.schema}.${hit.name}`);
      return { kind, ...blankAccess(), macChecks: [] };
    }
  }
}

function searchPathHit(ctx: AnalysisContext, name: string): boolean {
  return ctx.searchPath.some((s) => ctx.opts.protectedTables.has(`${s}.${name}`.toLowerCase()));
}

function copyPart(
  s: Statement & { k: "copy" },
  columns: ResultColumn[] | undefined,
  ctx: AnalysisContext,
): StatementPart {
  if (columns?.some((c) => c.source)) {
    if (s.program || s.file)
      ctx.refuse(
        `COPY ${s.direction === "from" ? "FROM" : "TO"} a server-side file or program is not supported on protected columns: use STDIN/STDOUT`,
      );
    if (s.format === "binary")
      ctx.refuse("COPY in binary format is not supported on protected columns: use text or csv");
  }
  return {
    kind: "copy",
    ...blankAccess(),
    macChecks: [],
    copy: columns ? { direction: s.direction, columns } : undefined,
  };
}

/** Appends `<q>.<col>_mac` and the row key columns for every directly selected MAC column. */
function macVerification(
  q: Query,
  out: OutputColumn[],
  result: ResultColumn[],
  checks: MacCheck[],
  ctx: AnalysisContext,
): void {
  const qi = ctx.opts.adapter.quoteIdent;
  const extra: string[] = [];
  out.forEach((o, i) => {
    if (o.cls.k !== "prot" || o.cls.col.protection.protect !== "mac") return;
    const col = o.cls.col;
    if (q.k !== "select")
      ctx.refuseColumn(col, "its MAC cannot be verified through UNION/INTERSECT/EXCEPT; select it directly");
    if (q.distinct || q.groupBy.length) ctx.refuseColumn(col, "its MAC cannot be verified with DISTINCT or GROUP BY");
    const entry = o.cls.ref?.entry;
    if (!entry?.table)
      ctx.refuseColumn(col, "its MAC cannot be verified through a subquery or CTE; select it directly");
    if (q.targetsEnd === undefined) ctx.refuseColumn(col, "cannot locate the end of the select list");
    const rowKey = col.protection.rowKey ?? [];
    if (!rowKey.length) ctx.refuseColumn(col, "the policy gives no row_key for its MAC");
    const macIndex = result.length;
    result.push({ name: macName(col), hidden: true });
    extra.push(`${entry.qualifier}.${qi(macName(col))}`);
    const rowKeyIndexes = rowKey.map((k) => {
      result.push({ name: k, hidden: true });
      extra.push(`${entry.qualifier}.${qi(k)}`);
      return result.length - 1;
    });
    checks.push({ column: col, valueIndex: i, macIndex, rowKeyIndexes });
  });
  if (extra.length && q.k === "select")
    ctx.edits.push({ kind: "insert", at: q.targetsEnd!, text: `, ${extra.join(", ")}` });
  void qualified;
}

/** COPY FROM into a table with blind-index / MAC columns: the companions are added to the column list and computed per row. */
function copyFromWithCompanions(
  s: Statement & { k: "copy" },
  entry: Entry,
  cols: ColInfo[],
  ctx: AnalysisContext,
): StatementPart {
  const chosen = s.columns
    ? s.columns.map((n) => cols.find((c) => c.name === n) ?? { name: n, cls: { k: "plain" as const } })
    : cols.filter((c) => !c.companion);
  const result: ResultColumn[] = toResultColumns(chosen.map((c) => ({ name: c.name, cls: c.cls })));
  const qi = ctx.opts.adapter.quoteIdent;
  const added: string[] = [];
  for (const c of cols) {
    if (c.cls.k !== "prot") continue;
    const col = c.cls.col;
    const p = col.protection;
    const kind = p.protect === "mac" ? "mac" : p.protect === "encrypt" && p.blind_index ? "blind-index" : undefined;
    if (!kind) continue;
    const valueIndex = chosen.findIndex((x) => x.name === c.name);
    const rowKeyIndexes =
      kind === "mac"
        ? (p.rowKey ?? []).map((k) => {
            const i = chosen.findIndex((x) => x.name === k);
            if (i < 0) ctx.refuseColumn(col, `COPY FROM must transfer row key column "${k}" (needed for its MAC)`);
            return i;
          })
        : undefined;
    if (kind === "mac" && !p.rowKey?.length) ctx.refuseColumn(col, "the policy gives no row_key for its MAC");
    const name = kind === "mac" ? macName(col) : bidxName(col);
    result.push({
      name,
      hidden: true,
      computed: { kind, column: col, valueIndex, ...(rowKeyIndexes ? { rowKeyIndexes } : {}) },
    });
    added.push(qi(name));
  }
  if (s.columnsInsertAt === undefined) ctx.refuse("cannot locate the COPY column list");
  ctx.edits.push(
    s.columns
      ? { kind: "insert", at: s.columnsInsertAt, text: `, ${added.join(", ")}` }
      : {
          kind: "insert",
          at: s.columnsInsertAt,
          text: ` (${chosen.map((c) => qi(c.name)).join(", ")}, ${added.join(", ")})`,
        },
  );
  void entry;
  return copyPart(s, result, ctx);
}

function blankAccess(): Pick<StatementPart, "protectedTables" | "tableAccess" | "columnsRead" | "columnsWritten"> {
  return { protectedTables: [], tableAccess: [], columnsRead: [], columnsWritten: [] };
}
