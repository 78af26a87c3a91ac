// Applying a plan to one statement: literal replacements and edits spliced into the original text at
// offsets recomputed from the statement's own shape key. The rest of the text stays byte-identical.

import { RewriteRefusal } from "./errors.js";
import { keyToStatementOffset, type ShapeKey } from "./shape-key.js";
import type { StatementPlan } from "./types.js";

export interface RewriteValues {
  /** Replacement text (a complete literal, e.g. `'smg1:…'`) per literal ordinal listed in `plan.literals`. */
  literals?: ReadonlyMap<number, string> | readonly string[];
  /** Rendered text per slot index (a literal or a `$n` the gateway appends to Bind). */
  slots?: readonly string[];
}

/** Raw literal token texts of the statement for each `plan.literals` entry (with a leading '-' when negated). */
export function literalTokens(sql: string, shape: ShapeKey, plan: StatementPlan): string[] {
  return plan.literals.map((l) => {
    const span = shape.literals[l.ordinal];
    if (!span) throw new RewriteRefusal("statement does not match its cached plan", "XX000");
    return (l.minusAt !== undefined ? "-" : "") + sql.slice(span.start, span.end);
  });
}

export function applyRewrites(sql: string, shape: ShapeKey, plan: StatementPlan, values: RewriteValues = {}): string {
  if (!plan.rewrites) return sql;
  if (shape.literals.length !== plan.literalCount)
    throw new RewriteRefusal("statement does not match its plan (literal count)", "XX000");
  type Op = { start: number; end: number; text: string; order: number };
  const ops: Op[] = [];
  let order = 0;
  const lit = (ordinal: number): string | undefined => {
    const v = values.literals;
    if (!v) return undefined;
    return v instanceof Map ? v.get(ordinal) : (v as readonly string[])[ordinal];
  };
  for (const l of plan.literals) {
    const text = lit(l.ordinal);
    if (text === undefined) throw new RewriteRefusal(`missing rewritten value for literal #${l.ordinal}`, "XX000");
    const span = shape.literals[l.ordinal];
    const start = l.minusAt !== undefined ? keyToStatementOffset(shape, l.minusAt) : span.start;
    ops.push({ start, end: span.end, text, order: order++ });
  }
  for (const e of plan.edits) {
    if (e.kind === "replace") {
      ops.push({
        start: keyToStatementOffset(shape, e.start),
        end: keyToStatementOffset(shape, e.end),
        text: e.text,
        order: order++,
      });
    } else {
      const at = keyToStatementOffset(shape, e.at);
      let text = e.kind === "insert" ? e.text : undefined;
      if (e.kind === "slot") {
        const s = values.slots?.[e.slot];
        if (s === undefined) throw new RewriteRefusal(`missing value for computed slot #${e.slot}`, "XX000");
        text = e.prefix + s + e.suffix;
      }
      ops.push({ start: at, end: at, text: text!, order: order++ });
    }
  }
  ops.sort((a, b) => a.start - b.start || a.end - b.end || a.order - b.order);
  let out = "";
  let pos = 0;
  for (const op of ops) {
    if (op.start < pos) throw new RewriteRefusal("overlapping rewrites", "XX000");
    out += sql.slice(pos, op.start) + op.text;
    pos = op.end;
  }
  return out + sql.slice(pos);
}
