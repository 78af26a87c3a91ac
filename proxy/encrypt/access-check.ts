// Access decisions for one analysed statement and one subject: table-level per statement kind, column-level
// for every protected result column (select) and every protected value written or compared (dialect-neutral:
// PostgreSQL and MySQL gateways map the denial to their own error). The first
// denial is returned, naming the table or column.

import type { SubjectAccess } from "../../policy/compile.js";
import type { Op } from "../../policy/policy-types.js";
import type { StatementKind, StatementPlan } from "../rewrite/types.js";

export interface Denial {
  table: string;
  column?: string;
  op: Op;
}

export function opOf(kind: StatementKind, copyDirection?: "from" | "to"): Op | undefined {
  switch (kind) {
    case "select":
    case "insert":
    case "update":
    case "delete":
      return kind;
    case "copy":
      return copyDirection === "from" ? "insert" : "select";
    case "merge":
      return "update";
    default:
      return undefined;
  }
}

const lc = (s: string) => s.toLowerCase();

/** Optional per-part access detail (newer analyses provide it; older ones leave it out). */
interface PartAccessDetail {
  tableAccess?: { table: string; ops: Op[] }[];
  columnsRead?: string[];
  columnsWritten?: string[];
}

/** "schema.table.column" (catalog names) → a denial when the subject may not do `op` on it. */
function columnDenied(access: SubjectAccess, ref: string, op: Op): Denial | undefined {
  const parts = ref.split(".");
  if (parts.length < 3) return undefined;
  const column = parts.pop()!;
  const st = lc(parts.join("."));
  return access.column(st, column, op).kind === "deny" ? { table: st, column, op } : undefined;
}

export function checkAccess(plan: StatementPlan, access: SubjectAccess): Denial | undefined {
  const tableOps = new Map<string, Set<Op>>();
  for (const part of plan.parts) {
    const op = opOf(part.kind, part.copy?.direction);
    const detail = part as PartAccessDetail;
    // per-table operations when the analysis gives them (a table only read by an UPDATE … FROM is "select")
    const perTable: { table: string; ops: Op[] }[] =
      detail.tableAccess ?? (op ? part.protectedTables.map((table) => ({ table, ops: [op] })) : []);
    for (const ta of perTable) {
      const st = lc(ta.table);
      let s = tableOps.get(st);
      if (!s) tableOps.set(st, (s = new Set()));
      for (const o of ta.ops) {
        if (access.table(st, o) === "deny") return { table: st, op: o };
        s.add(o);
      }
    }
    // every protected column the statement reads (predicates included) needs select; written ones the DML op
    for (const ref of detail.columnsRead ?? []) {
      const d = columnDenied(access, ref, "select");
      if (d) return d;
    }
    if (op && op !== "select")
      for (const ref of detail.columnsWritten ?? []) {
        const d = columnDenied(access, ref, op);
        if (d) return d;
      }
    if (!op) continue;
    const cols = part.resultColumns ?? part.copy?.columns ?? [];
    for (const rc of cols) {
      if (!rc.source || rc.hidden) continue;
      const st = lc(`${rc.source.schema}.${rc.source.table}`);
      const colOp: Op = part.kind === "copy" && part.copy?.direction === "from" ? "insert" : "select";
      if (access.column(st, rc.source.column, colOp).kind === "deny")
        return { table: st, column: rc.source.column, op: colOp };
    }
  }
  const targets = [...plan.params.flatMap((p) => (p.target ? [p.target] : [])), ...plan.literals.map((l) => l.target)];
  for (const t of targets) {
    const st = lc(`${t.column.schema}.${t.column.table}`);
    const ops = tableOps.get(st) ?? new Set<Op>(["select"]);
    for (const op of ops)
      if (access.column(st, t.column.column, op).kind === "deny") return { table: st, column: t.column.column, op };
  }
  return undefined;
}
