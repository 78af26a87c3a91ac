// The values one statement sends, transformed for the server: literals bound for protected columns
// (encrypted / FPE / blind index, rendered as MySQL literals: '…' for text, X'…' for raw bytes), computed
// companion slots, and the canonical text form of each plaintext (the server's text form for its type, so a
// MAC or a deterministic envelope matches what `smgate migrate` computed from stored values).

import { statementLiteralReader } from "../../encrypt/literal-reader.js";
import {
  computeSlots,
  type InputColumn,
  type SourceReader,
  transformTargets,
  type Value,
} from "../../encrypt/value-transforms.js";
import type { AnalysedStatement, RewriteEngine } from "../../rewrite/engine.js";
import { applyRewrites } from "../../rewrite/splice.js";
import type { SlotPlan, ValueTarget } from "../../rewrite/types.js";
import type { MysqlCatalog } from "./catalog.js";
import { plaintextTextForm, serverTextForm } from "./mysql-types.js";
import { unsupported } from "./refusals.js";
import type { MysqlEncryptionRuntime } from "./runtime.js";

const SAFE_TEXT = /^[\x20-\x26\x28-\x5b\x5d-\x7e]*$/; // printable ASCII without ' and \

/** A MySQL literal holding exactly these bytes: '…' for plain ASCII text, X'…' otherwise. */
export function mysqlLiteral(v: Value): string {
  if (v === null) return "NULL";
  const s = v.toString("latin1");
  return SAFE_TEXT.test(s) ? `'${s}'` : `X'${v.toString("hex")}'`;
}

/** Canonical plaintext of a value bound for (or compared with) a column, per its policy type or catalog type. */
export function canonicalInput(
  rt: MysqlEncryptionRuntime,
  catalog: MysqlCatalog | undefined,
  column: InputColumn,
  value: Value,
): Value {
  if (value === null) return null;
  return canonicalizer(rt, catalog, column)(value);
}

/** canonicalInput for one column with its lookups done once (valid while the policy and catalog stay the same). */
export function canonicalizer(
  rt: MysqlEncryptionRuntime,
  catalog: MysqlCatalog | undefined,
  column: InputColumn,
): (value: Buffer) => Buffer {
  const prot = rt.policy.protection(`${column.schema}.${column.table}`.toLowerCase(), column.column);
  if (prot && prot.protect !== "mac") {
    const type = prot.type;
    return (v) => plaintextTextForm(type, v);
  }
  const columnType = catalog?.columnType(column.schema, column.table, column.column);
  return (v) => serverTextForm(columnType, v);
}

export function unknownSource(column: string): never {
  throw unsupported(
    `column "${column}": smgate cannot compute its companion value (an input is neither a parameter nor a literal)`,
  );
}

/** Reads literal / NULL slot inputs of a statement's own text (parameters are not known here). */
export function literalReader(engine: RewriteEngine, sql: string, a: AnalysedStatement, what: string) {
  return statementLiteralReader(engine, sql, a, {
    param: () => {
      throw unsupported(`column "${what}": a parameter marker in a statement that is not prepared`);
    },
    unknown: () => unknownSource(what),
  });
}

/** Transforms values for protected targets (canonical plaintext first); one codec call per column+transform. */
export function transformValues(
  rt: MysqlEncryptionRuntime,
  catalog: MysqlCatalog | undefined,
  items: { target: ValueTarget; value: Value }[],
): Value[] {
  const canon = items.map((it) => ({
    target: it.target,
    value: canonicalInput(rt, catalog, it.target.column, it.value),
  }));
  return transformTargets(rt.transformEnv(catalog), canon);
}

/** Companion values of slots; inputs read by `read` and canonicalised per column. */
export function slotValues(
  rt: MysqlEncryptionRuntime,
  catalog: MysqlCatalog | undefined,
  slots: readonly SlotPlan[],
  read: SourceReader,
): Value[] {
  return computeSlots(rt.transformEnv(catalog), slots, (src, col) => canonicalInput(rt, catalog, col, read(src, col)));
}

/** The literals of plan.literals encrypted and rendered, by literal ordinal. */
export function encryptedLiterals(
  rt: MysqlEncryptionRuntime,
  catalog: MysqlCatalog | undefined,
  engine: RewriteEngine,
  sql: string,
  a: AnalysedStatement,
): Map<number, string> {
  const out = new Map<number, string>();
  if (a.plan.literals.length === 0) return out;
  const plain = engine.literalValues(sql, a);
  const enc = transformValues(
    rt,
    catalog,
    a.plan.literals.map((l, i) => ({ target: l.target, value: Buffer.from(plain[i], "utf8") })),
  );
  a.plan.literals.forEach((l, i) => {
    out.set(l.ordinal, mysqlLiteral(enc[i]));
  });
  return out;
}

/** COM_QUERY: the statement with literals encrypted and every slot computed from literals. */
export function rewriteQuery(
  rt: MysqlEncryptionRuntime,
  catalog: MysqlCatalog | undefined,
  engine: RewriteEngine,
  sql: string,
  a: AnalysedStatement,
): string {
  const literals = encryptedLiterals(rt, catalog, engine, sql, a);
  const what = a.plan.slots.map((s) => s.column.ad).join(",");
  const slots = slotValues(rt, catalog, a.plan.slots, literalReader(engine, sql, a, what)).map(mysqlLiteral);
  return applyRewrites(sql, a.shape, a.plan, { literals, slots });
}
