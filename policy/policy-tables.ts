// The `tables:` section of policy.yaml: per-column protection checks (format, mode, blind_index, row_key…)
// with positions, and the normalised TablePolicy map with every default made explicit.
import {
  type ColumnProtection,
  FPE_FORMATS,
  type FpeFormat,
  POLICY_DEFAULTS,
  PROTECTIONS,
  type ProtectKind,
  type TablePolicy,
  VALUE_TYPES,
  type ValueType,
} from "./policy-types.js";
import type { SourceProblem, YamlSource } from "./yaml-source.js";

const IDENT = /^[^.\s"`]+$/;
const KEY_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
/** FPE formats whose length is fixed by the format itself. */
const FIXED_WIDTH_FORMATS = new Set<FpeFormat>(["cn-id", "cn-mobile", "bank-card"]);

type Raw = Record<string, unknown>;

function isObj(v: unknown): v is Raw {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export interface TablesResult {
  tables: Map<string, TablePolicy>;
}

/** Checks and builds `tables`; problems (errors and warnings) are appended to `out`. */
export function buildTables(src: YamlSource, raw: unknown, defaultKey: string, out: SourceProblem[]): TablesResult {
  const tables = new Map<string, TablePolicy>();
  if (!isObj(raw)) return { tables };
  const seen = new Map<string, string>();
  for (const [tableName, tableRaw] of Object.entries(raw)) {
    const tPath = ["tables", tableName];
    const lower = tableName.toLowerCase();
    const parts = tableName.split(".");
    if (parts.length !== 2 || !parts.every((p) => IDENT.test(p))) {
      out.push(
        src.problem(tPath, `table "${tableName}": expected schema.table (for MySQL/MariaDB database.table)`, {
          key: true,
        }),
      );
    }
    const prev = seen.get(lower);
    if (prev !== undefined) {
      out.push(
        src.problem(tPath, `duplicate table "${tableName}" (same as "${prev}"; names are case-insensitive)`, {
          key: true,
        }),
      );
      continue;
    }
    seen.set(lower, tableName);
    if (!isObj(tableRaw)) continue;
    const rowKey = Array.isArray(tableRaw.row_key)
      ? tableRaw.row_key.filter((c): c is string => typeof c === "string")
      : undefined;
    if (rowKey) {
      const rk = new Set<string>();
      rowKey.forEach((c, i) => {
        if (rk.has(c.toLowerCase())) out.push(src.problem([...tPath, "row_key", i], `row_key lists "${c}" twice`));
        rk.add(c.toLowerCase());
      });
    }
    const tableKey = typeof tableRaw.key === "string" ? tableRaw.key : undefined;
    if (tableKey !== undefined && !KEY_NAME.test(tableKey)) {
      out.push(
        src.problem([...tPath, "key"], `key name "${tableKey}" may only use letters, digits, "_", ".", ":", "-"`),
      );
    }
    const table: TablePolicy = { name: lower, columns: new Map() };
    if (rowKey) table.rowKey = rowKey.map((c) => c.toLowerCase());
    if (tableRaw.mode === "enforce" || tableRaw.mode === "shadow") table.mode = tableRaw.mode;
    const cols = tableRaw.columns;
    if (isObj(cols)) {
      if (Object.keys(cols).length === 0) {
        out.push(src.problem([...tPath, "columns"], `table "${tableName}" lists no columns`));
      }
      const seenCols = new Map<string, string>();
      for (const [colName, colRaw] of Object.entries(cols)) {
        const cPath = [...tPath, "columns", colName];
        const lc = colName.toLowerCase();
        if (!IDENT.test(colName)) {
          out.push(
            src.problem(cPath, `column "${colName}": a column name cannot contain ".", quotes or spaces`, {
              key: true,
            }),
          );
        }
        const prevCol = seenCols.get(lc);
        if (prevCol !== undefined) {
          out.push(src.problem(cPath, `duplicate column "${colName}" (same as "${prevCol}")`, { key: true }));
          continue;
        }
        seenCols.set(lc, colName);
        if (!isObj(colRaw)) continue;
        const prot = buildColumn(src, cPath, colRaw, {
          schemaTable: lower,
          column: lc,
          key: tableKey ?? defaultKey,
          rowKey: table.rowKey,
          hasRowKey: tableRaw.row_key !== undefined,
          tPath,
          out,
        });
        if (prot) table.columns.set(lc, prot);
      }
      for (const c of table.columns.keys()) {
        for (const suffix of ["_bidx", "_mac"]) {
          if (c.endsWith(suffix) && table.columns.has(c.slice(0, -suffix.length))) {
            out.push(
              src.problem(
                [...tPath, "columns", seenCols.get(c)!],
                `column "${c}" collides with the companion column smgate keeps for "${c.slice(0, -suffix.length)}"`,
                { key: true },
              ),
            );
          }
        }
      }
    }
    tables.set(lower, table);
  }
  return { tables };
}

interface ColumnCtx {
  schemaTable: string;
  column: string;
  key: string;
  rowKey: string[] | undefined;
  hasRowKey: boolean;
  tPath: string[];
  out: SourceProblem[];
}

function buildColumn(src: YamlSource, path: string[], raw: Raw, ctx: ColumnCtx): ColumnProtection | undefined {
  const { out } = ctx;
  const protect = raw.protect as ProtectKind;
  if (!(PROTECTIONS as readonly unknown[]).includes(protect)) return undefined; // shape error already reported
  const notFor = (k: string, why: string) => {
    if (raw[k] !== undefined) out.push(src.problem([...path, k], `${k} ${why}`, { key: true }));
  };
  const bad = (k: string, msg: string, opts: { key?: boolean } = {}) => {
    out.push(src.problem([...path, k], msg, opts));
  };
  const keyName = typeof raw.key === "string" ? raw.key : ctx.key;
  if (typeof raw.key === "string" && !KEY_NAME.test(raw.key)) {
    bad("key", `key name "${raw.key}" may only use letters, digits, "_", ".", ":", "-"`);
  }
  let type: ValueType = POLICY_DEFAULTS.type;
  if (typeof raw.type === "string") {
    const t = raw.type.toLowerCase();
    if ((VALUE_TYPES as readonly string[]).includes(t)) type = t as ValueType;
    else bad("type", `unknown type "${raw.type}"; known types: ${VALUE_TYPES.join(", ")}`);
  }
  const ad = `${ctx.schemaTable}.${ctx.column}`;
  const p: ColumnProtection = { protect, key: keyName, type, schemaTable: ctx.schemaTable, column: ctx.column, ad };
  if (protect === "encrypt") {
    for (const k of ["format", "keep_prefix", "keep_suffix", "width"]) notFor(k, "applies only to protect: fpe");
    notFor("on_integrity_failure", "applies only to protect: mac");
    p.mode = (raw.mode as ColumnProtection["mode"]) ?? POLICY_DEFAULTS.mode;
    if (typeof raw.max_length === "number") p.max_length = raw.max_length;
    p.blind_index = raw.blind_index === true;
    if (p.blind_index) {
      p.bidxColumn = `${ctx.column}_bidx`;
      if (p.mode === "deterministic") {
        out.push(
          src.problem(
            [...path, "blind_index"],
            "blind_index on a deterministic column is pointless (equality already works on the ciphertext); remove it",
            {
              key: true,
              severity: "warning",
            },
          ),
        );
      }
    }
  } else if (protect === "fpe") {
    notFor("blind_index", "cannot be used with protect: fpe (FPE is deterministic: equality already works)");
    notFor("on_integrity_failure", "applies only to protect: mac");
    notFor("max_length", "applies only to protect: encrypt (FPE keeps the plaintext width)");
    if (raw.mode === "randomized") bad("mode", "protect: fpe is always deterministic; remove mode");
    else notFor("mode", "applies only to protect: encrypt (fpe is always deterministic)");
    if (raw.format === undefined) {
      out.push(src.problem(path, `protect: fpe needs a format (${FPE_FORMATS.join(", ")})`));
    } else if (typeof raw.format === "string") {
      if (!(FPE_FORMATS as readonly string[]).includes(raw.format)) {
        bad("format", `unknown format "${raw.format}"; known formats: ${FPE_FORMATS.join(", ")}`);
      } else {
        p.format = raw.format as FpeFormat;
        if (p.format === "integer" && raw.width === undefined) {
          out.push(src.problem(path, "format integer needs width (the fixed number of digits)"));
        }
        if (FIXED_WIDTH_FORMATS.has(p.format) && raw.width !== undefined) {
          bad("width", `width does not apply to format ${p.format} (its length is fixed)`, { key: true });
        }
      }
    }
    if (typeof raw.keep_prefix === "number") p.keep_prefix = raw.keep_prefix;
    if (typeof raw.keep_suffix === "number") p.keep_suffix = raw.keep_suffix;
    if (typeof raw.width === "number") p.width = raw.width;
    if (p.width !== undefined && (p.keep_prefix ?? 0) + (p.keep_suffix ?? 0) >= p.width) {
      bad("keep_prefix", "keep_prefix + keep_suffix leave nothing to encrypt within width");
    }
  } else {
    for (const k of ["format", "keep_prefix", "keep_suffix", "width"]) notFor(k, "applies only to protect: fpe");
    notFor("mode", "applies only to protect: encrypt");
    notFor("blind_index", "applies only to protect: encrypt (a mac column stays plaintext and is searchable)");
    notFor("max_length", "applies only to protect: encrypt");
    if (!ctx.hasRowKey) {
      out.push(
        src.problem(path, `protect: mac needs row_key on table ${ctx.schemaTable} (the columns identifying a row)`, {
          key: true,
        }),
      );
    }
    p.on_integrity_failure =
      (raw.on_integrity_failure as ColumnProtection["on_integrity_failure"]) ?? POLICY_DEFAULTS.on_integrity_failure;
    if (ctx.rowKey) p.rowKey = ctx.rowKey;
    p.macColumn = `${ctx.column}_mac`;
  }
  // returned even when a problem was found, so access checks still know the column is protected
  return p;
}
