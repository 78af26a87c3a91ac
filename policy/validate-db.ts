// `smgate policy validate --db`: checks a policy against a live database — every table and column exists, each
// column's type and width can hold its transform (saying what width it needs), and the companion columns
// (`<col>_bidx`, `<col>_mac`) exist with a usable type or are reported as to be added by `smgate migrate`.
import type { ColumnInfo, DbInspector, TableInfo } from "./db/inspector.js";
import { parsePolicy } from "./policy-loader.js";
import type { ColumnProtection, FpeFormat, PolicyDoc } from "./policy-types.js";
import { type SourceProblem, sortProblems, YamlSource } from "./yaml-source.js";

/** Bytes of a v1 envelope for an n-byte plaintext (SPEC §4): RND 01‖keyid(4)‖iv(16)‖ct(n)‖tag(16); DET 02‖keyid(4)‖siv(16)‖ct(n). */
export function envelopeBytes(mode: "randomized" | "deterministic", n: number): number {
  return mode === "randomized" ? 1 + 4 + 16 + n + 16 : 1 + 4 + 16 + n;
}

/** Characters of the text form "smg1:" + base64url(envelope) without padding. */
export function envelopeTextLength(envelopeLen: number): number {
  return 5 + Math.ceil((envelopeLen * 4) / 3);
}

/** Width a text column needs to hold the envelope of a plaintext of up to `chars` characters of `bytesPerChar`. */
export function neededTextWidth(mode: "randomized" | "deterministic", chars: number, bytesPerChar = 1): number {
  return envelopeTextLength(envelopeBytes(mode, chars * bytesPerChar));
}

/** Companion columns hold 16 bytes: binary(16)+ / bytea / blob, or text of at least 22 characters (base64url). */
const COMPANION_BYTES = 16;
const COMPANION_TEXT_CHARS = 22;

/** Minimum plaintext characters an FPE format needs the column to hold (FPE keeps the plaintext width). */
function fpeWidth(p: ColumnProtection): number | undefined {
  const fixed: Partial<Record<FpeFormat, number>> = { "cn-id": 18, "cn-mobile": 11, "bank-card": 13 };
  return fixed[p.format!] ?? p.width;
}

const DIGIT_FORMATS = new Set<FpeFormat>(["digits", "integer", "cn-mobile", "bank-card"]);

function sqlWidthType(_dialect: DbInspector["dialect"], chars: number): string {
  return `varchar(${chars})`;
}

function binaryAlternatives(dialect: DbInspector["dialect"]): string {
  return dialect === "postgres" ? "text or bytea" : "text, varbinary or blob";
}

export interface DbCheckContext {
  doc: PolicyDoc;
  src: YamlSource;
  db: DbInspector;
}

/** All problems (errors and warnings) of the policy against the database. */
export async function checkPolicyAgainstDb({ doc, src, db }: DbCheckContext): Promise<SourceProblem[]> {
  const out: SourceProblem[] = [];
  const schemas = [...new Set([...doc.tables.values()].map((t) => t.name.split(".")[0]))];
  const live = new Map((await db.tables(schemas)).map((t) => [t.key, t] as const));
  const rawTables = (src.value as { tables?: Record<string, { columns?: Record<string, unknown> }> }).tables ?? {};
  for (const [yamlTable, rawTable] of Object.entries(rawTables)) {
    const tPath = ["tables", yamlTable];
    const tp = doc.tables.get(yamlTable.toLowerCase());
    if (!tp) continue;
    const t = live.get(tp.name);
    if (!t) {
      out.push(
        src.problem(tPath, `table ${yamlTable} does not exist in ${db.dialect} database "${db.database}"`, {
          key: true,
        }),
      );
      continue;
    }
    const cols = new Map(t.columns.map((c) => [c.name.toLowerCase(), c] as const));
    tp.rowKey?.forEach((rk, i) => {
      if (!cols.has(rk))
        out.push(src.problem([...tPath, "row_key", i], `row_key column ${rk} does not exist in ${t.schema}.${t.name}`));
    });
    for (const yamlCol of Object.keys(rawTable.columns ?? {})) {
      const cPath = [...tPath, "columns", yamlCol];
      const p = tp.columns.get(yamlCol.toLowerCase());
      if (!p) continue;
      const c = cols.get(p.column);
      if (!c) {
        out.push(src.problem(cPath, `column ${yamlCol} does not exist in ${t.schema}.${t.name}`, { key: true }));
        continue;
      }
      for (const msg of columnFit(p, c, db.dialect))
        out.push(src.problem(cPath, msg.text, { key: true, severity: msg.severity }));
      if (p.bidxColumn) companion(out, src, cPath, t, cols, p.bidxColumn, "blind index");
      if (p.macColumn) companion(out, src, cPath, t, cols, p.macColumn, "integrity MAC");
    }
  }
  return sortProblems(out);
}

interface FitMessage {
  text: string;
  severity: "error" | "warning";
}

/** Whether the column's type and width can hold what the transform stores. */
export function columnFit(p: ColumnProtection, c: ColumnInfo, dialect: DbInspector["dialect"]): FitMessage[] {
  const name = `${p.schemaTable}.${p.column}`;
  const err = (text: string): FitMessage[] => [{ text, severity: "error" }];
  if (p.protect === "mac") return []; // stays plaintext: any type
  if (p.protect === "encrypt") {
    const mode = p.mode ?? "randomized";
    const label = mode === "randomized" ? "a randomized (RND)" : "a deterministic (DET)";
    if (c.kind === "text") {
      if (c.maxLength === undefined) return [];
      // plaintext width: the policy's max_length, else the column's declared width (a column not yet migrated)
      const plain = p.max_length ?? c.maxLength;
      const ascii = neededTextWidth(mode, plain, 1);
      if (c.maxLength >= ascii) return [];
      const cjk = neededTextWidth(mode, plain, 3);
      const source = p.max_length !== undefined ? "max_length in the policy" : "the column's declared width";
      return err(
        `${name} is ${c.typeText}: too narrow for ${label} envelope of a ${plain}-character value (${source}; ` +
          `"smg1:" + base64url of ${envelopeBytes(mode, plain)} bytes): needs ${sqlWidthType(dialect, ascii)} or wider ` +
          `(${sqlWidthType(dialect, cjk)} if values hold 3-byte UTF-8 characters), or ${binaryAlternatives(dialect)}` +
          (p.max_length === undefined ? "; if values are shorter than the column allows, set max_length" : ""),
      );
    }
    if (c.kind === "binary") {
      if (c.maxLength === undefined) return [];
      const room = c.maxLength - envelopeBytes(mode, 0);
      if (room < 1) {
        return err(
          `${name} is ${c.typeText}: an envelope needs ${envelopeBytes(mode, 0)} bytes plus the value; use ${binaryAlternatives(dialect)}`,
        );
      }
      if (p.max_length !== undefined) {
        const need = envelopeBytes(mode, p.max_length);
        if (c.maxLength < need) {
          return err(
            `${name} is ${c.typeText}: ${label} envelope of a ${p.max_length}-byte value needs ${need} bytes (varbinary(${need}) or wider)`,
          );
        }
        return [];
      }
      return [
        {
          text: `${name} is ${c.typeText}: holds envelopes of values up to ${room} bytes (set max_length to check)`,
          severity: "warning",
        },
      ];
    }
    return err(
      `${name} is ${c.typeText}, which cannot hold ciphertext: change the column to ${binaryAlternatives(dialect)} (smgate stores "smg1:…" text or the raw envelope); keep type: in the policy for the plaintext type`,
    );
  }
  // fpe: the ciphertext has the plaintext's width and alphabet
  const need = fpeWidth(p);
  const fmt = p.format!;
  if (c.kind === "text") {
    if (need !== undefined && c.maxLength !== undefined && c.maxLength < need) {
      return err(
        `${name} is ${c.typeText}: FPE keeps the plaintext width and format ${fmt} needs ${need} characters (${sqlWidthType(dialect, need)})`,
      );
    }
    return [];
  }
  if (c.kind === "integer" || c.kind === "numeric") {
    if (!DIGIT_FORMATS.has(fmt))
      return err(`${name} is ${c.typeText}: format ${fmt} produces non-digit characters; use a text column`);
    const digits = fmt === "bank-card" ? 19 : (need ?? 0);
    if (c.maxDigits !== undefined && digits > c.maxDigits) {
      return err(
        `${name} is ${c.typeText} (up to ${c.maxDigits} digits): format ${fmt} needs ${digits} digits; use a text column`,
      );
    }
    return [
      {
        text: `${name} is ${c.typeText}: FPE output may start with 0, which a numeric column drops; a text column is safer`,
        severity: "warning",
      },
    ];
  }
  return err(`${name} is ${c.typeText}, which cannot hold format ${fmt}; use a text column`);
}

function companion(
  out: SourceProblem[],
  src: YamlSource,
  cPath: string[],
  t: TableInfo,
  cols: Map<string, ColumnInfo>,
  name: string,
  what: string,
): void {
  const c = cols.get(name);
  if (!c) {
    out.push(
      src.problem(cPath, `${what} column ${t.schema}.${t.name}.${name}: missing, will be added by smgate migrate`, {
        key: true,
        severity: "warning",
      }),
    );
    return;
  }
  const ok =
    (c.kind === "binary" && (c.maxLength === undefined || c.maxLength >= COMPANION_BYTES)) ||
    (c.kind === "text" && (c.maxLength === undefined || c.maxLength >= COMPANION_TEXT_CHARS));
  if (!ok) {
    out.push(
      src.problem(
        cPath,
        `${what} column ${t.schema}.${t.name}.${name} is ${c.typeText}: needs ${COMPANION_BYTES} bytes (bytea / varbinary(16) / binary(16)) or text of at least ${COMPANION_TEXT_CHARS} characters`,
        { key: true },
      ),
    );
  }
}

/** Parses the policy text (throws PolicyError when invalid) and checks it against the database. */
export async function validatePolicyAgainstDb(text: string, file: string, db: DbInspector): Promise<SourceProblem[]> {
  const doc = parsePolicy(text, file);
  const src = new YamlSource(text, file);
  return checkPolicyAgainstDb({ doc, src, db });
}
