// DDL that `smgate migrate` derives from the live table and the policy, computed afresh on every run so it is
// idempotent: encrypt widens or converts envelope columns (plaintext type stays the policy `type`), drops
// defaults of protected columns (a default would insert plaintext), adds `<col>_bidx` / `<col>_mac` companion
// columns and indexes; decrypt restores the recorded original types and defaults and drops what encrypt added.
import { sm3 } from "../crypto/sm3.js";
import type { ColumnProtection } from "../policy/policy-types.js";
import { columnFit, envelopeBytes, envelopeTextLength } from "../policy/validate-db.js";
import type { LiveColumn, LiveTable, MigrateDb, RunRecord } from "./db.js";
import { MigrateError } from "./errors.js";

export interface DdlPlan {
  statements: string[];
  /** indexes the statements create on protected columns (dropped again by --decrypt) */
  createdIndexes: string[];
  /** human-readable warnings, printed with the plan */
  notes: string[];
}

export type OriginalTypes = RunRecord["original"];

/** Bytes per character assumed for declared character widths (3-byte UTF-8: CJK). */
const BYTES_PER_CHAR = 3;
/** Above this many characters MySQL gets a TEXT type instead of VARCHAR (row size limit 65,535 bytes). */
const MYSQL_VARCHAR_MAX = 2000;
const MYSQL_VARBINARY_MAX = 8000;
/** Companions hold 16 bytes; text companions 22 base64url characters. */
const COMPANION_BYTES = 16;
const COMPANION_TEXT_CHARS = 22;

const FIXED_TEXT_LENGTH: Record<string, number> = {
  date: 13,
  time: 24,
  "time without time zone": 24,
  "time with time zone": 30,
  timestamp: 40,
  "timestamp without time zone": 40,
  "timestamp with time zone": 48,
  datetime: 40,
  year: 4,
  boolean: 5,
  uuid: 36,
  real: 24,
  "double precision": 32,
  float: 24,
  double: 32,
};

/** Longest text form (bytes) a column of the original type can produce; undefined = unbounded. */
function plaintextBytes(p: ColumnProtection, orig: LiveColumn): number | undefined {
  if (p.max_length !== undefined) return p.max_length * BYTES_PER_CHAR;
  const base = orig.typeText.toLowerCase().replace(/\(.*$/, "").trim();
  if (orig.kind === "text") return orig.maxLength === undefined ? undefined : orig.maxLength * BYTES_PER_CHAR;
  if (orig.kind === "binary") return orig.maxLength;
  if (orig.kind === "integer") return 20;
  const prec = /^(numeric|decimal)\s*\((\d+)/.exec(orig.typeText.toLowerCase());
  if (prec) return Number(prec[2]) + 2;
  return FIXED_TEXT_LENGTH[base];
}

/** An index name within PostgreSQL's 63 / MySQL's 64 byte limit, unique per table.column.purpose. */
export function indexName(t: LiveTable, column: string, purpose: string): string {
  const name = `smg_${t.name}_${column}_${purpose}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  if (name.length <= 60) return name;
  const h = sm3(Buffer.from(`${t.key}.${column}.${purpose}`))
    .toString("hex")
    .slice(0, 10);
  return `${name.slice(0, 49)}_${h}`;
}

const MYSQL_TEXT_RANK: Record<string, number> = { tinytext: 1, text: 2, mediumtext: 3, longtext: 4 };
const MYSQL_BLOB_RANK: Record<string, number> = { tinyblob: 1, blob: 2, mediumblob: 3, longblob: 4 };

/** The storage type an envelope column needs, or undefined when the live column already holds it. */
function envelopeStorage(
  db: MigrateDb,
  p: ColumnProtection,
  live: LiveColumn,
  orig: LiveColumn,
  measured: number,
): string | undefined {
  const mode = p.mode ?? "randomized";
  const bound = plaintextBytes(p, orig);
  const bytes = bound === undefined ? undefined : Math.max(bound, measured);
  const envLen = bytes === undefined ? undefined : envelopeBytes(mode, bytes);
  const base = live.typeText.toLowerCase().replace(/\(.*$/, "").trim();
  if (live.kind === "binary") {
    if (db.dialect === "postgres") return undefined; // bytea is unbounded
    if (envLen === undefined) return (MYSQL_BLOB_RANK[base] ?? 0) >= 3 ? undefined : "MEDIUMBLOB";
    if (live.maxLength !== undefined && live.maxLength >= envLen && base === "varbinary") return undefined;
    if (live.maxLength === undefined && (MYSQL_BLOB_RANK[base] ?? 0) >= 2 && envLen <= 65535) return undefined;
    return envLen <= MYSQL_VARBINARY_MAX ? `VARBINARY(${envLen})` : "MEDIUMBLOB";
  }
  const chars = envLen === undefined ? undefined : envelopeTextLength(envLen);
  if (live.kind === "text" && !["char", "character", "enum", "set"].includes(base)) {
    if (db.dialect === "postgres") {
      if (live.maxLength === undefined) return undefined;
      if (chars !== undefined && live.maxLength >= chars) return undefined;
    } else {
      if (live.maxLength !== undefined && chars !== undefined && live.maxLength >= chars) return undefined;
      const rank = MYSQL_TEXT_RANK[base];
      if (rank !== undefined && (chars === undefined ? rank >= 3 : rank >= 3 || chars <= 65535)) return undefined;
    }
  }
  if (db.dialect === "postgres") return chars === undefined ? "text" : `varchar(${chars})`;
  if (chars === undefined) return "MEDIUMTEXT";
  return chars <= MYSQL_VARCHAR_MAX ? `VARCHAR(${chars})` : "MEDIUMTEXT";
}

function companionOk(c: LiveColumn): boolean {
  return (
    (c.kind === "binary" && (c.maxLength === undefined || c.maxLength >= COMPANION_BYTES)) ||
    (c.kind === "text" && (c.maxLength === undefined || c.maxLength >= COMPANION_TEXT_CHARS))
  );
}

function col(t: LiveTable, name: string): LiveColumn | undefined {
  return t.columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
}

export function requireColumn(t: LiveTable, name: string): LiveColumn {
  const c = col(t, name);
  if (!c) throw new MigrateError(`column ${t.schema}.${t.name}.${name} named by the policy does not exist`);
  return c;
}

/**
 * DDL bringing the table's shape under the policy. `original` holds the column shapes recorded before the first
 * change (so a resumed run sizes from the original width); `measured` the longest stored value per column.
 */
export function planEncryptDdl(
  db: MigrateDb,
  t: LiveTable,
  prots: ColumnProtection[],
  original: OriginalTypes,
  measured: Record<string, number>,
): DdlPlan {
  const plan: DdlPlan = { statements: [], createdIndexes: [], notes: [] };
  const tq = db.qualified(t);
  const q = (s: string) => db.quote(s);
  const alters: string[] = [];
  const adds: string[] = [];
  const indexes: string[] = [];
  for (const p of prots) {
    const live = requireColumn(t, p.column);
    const o = original[live.name];
    const orig: LiveColumn = o ? { ...live, ...parseOriginal(db, o.typeText, live) } : live;
    if (p.protect === "fpe") {
      for (const m of columnFit(
        p,
        { ...orig, dataType: orig.typeText.toLowerCase().replace(/\(.*$/, "") },
        db.dialect,
      )) {
        if (m.severity === "error") throw new MigrateError(`cannot migrate: ${m.text}`);
        plan.notes.push(m.text);
      }
    }
    if (p.protect !== "mac" && live.defaultExpr !== null) {
      alters.push(
        db.dialect === "postgres"
          ? `ALTER TABLE ${tq} ALTER COLUMN ${q(live.name)} DROP DEFAULT`
          : `ALTER TABLE ${tq} ALTER COLUMN ${q(live.name)} DROP DEFAULT`,
      );
      plan.notes.push(`${t.key}.${live.name}: default dropped (it would insert plaintext); --decrypt restores it`);
    }
    if (p.protect === "encrypt") {
      const target = envelopeStorage(db, p, live, orig, measured[live.name] ?? 0);
      if (target) {
        if (db.dialect === "postgres") {
          const using = live.kind === "text" ? "" : ` USING ${q(live.name)}::text`;
          alters.push(`ALTER TABLE ${tq} ALTER COLUMN ${q(live.name)} TYPE ${target}${using}`);
        } else {
          alters.push(
            `ALTER TABLE ${tq} MODIFY COLUMN ${q(live.name)} ${target} ${live.nullable ? "NULL" : "NOT NULL"}`,
          );
        }
      }
      if (p.mode === "deterministic" && !live.indexed) {
        const name = indexName(t, live.name, "det");
        const wide = db.dialect === "mysql" && (target ?? live.typeText).toLowerCase().includes("text");
        const colSql =
          wide || (db.dialect === "mysql" && (lengthOf(target) ?? 0) > 768) ? `${q(live.name)}(255)` : q(live.name);
        indexes.push(
          db.dialect === "postgres"
            ? `CREATE INDEX IF NOT EXISTS ${q(name)} ON ${tq} (${colSql})`
            : `CREATE INDEX IF NOT EXISTS ${q(name)} ON ${tq} (${colSql})`,
        );
        plan.createdIndexes.push(name);
      }
    }
    for (const [companion, indexed] of [
      [p.bidxColumn, true],
      [p.macColumn, false],
    ] as const) {
      if (!companion) continue;
      const existing = col(t, companion);
      if (existing) {
        if (!companionOk(existing))
          throw new MigrateError(
            `companion column ${t.key}.${existing.name} is ${existing.typeText}: it needs ${COMPANION_BYTES} bytes ` +
              `(bytea / varbinary(16)) or text of at least ${COMPANION_TEXT_CHARS} characters; drop or alter it`,
          );
        if (indexed && !existing.indexed)
          indexes.push(
            `CREATE INDEX IF NOT EXISTS ${q(indexName(t, companion, "idx"))} ON ${tq} (${q(existing.name)})`,
          );
        continue;
      }
      adds.push(
        db.dialect === "postgres"
          ? `ALTER TABLE ${tq} ADD COLUMN ${q(companion)} bytea`
          : `ALTER TABLE ${tq} ADD COLUMN ${q(companion)} VARBINARY(${COMPANION_BYTES}) NULL`,
      );
      if (indexed)
        indexes.push(`CREATE INDEX IF NOT EXISTS ${q(indexName(t, companion, "idx"))} ON ${tq} (${q(companion)})`);
    }
  }
  plan.statements.push(...alters, ...adds, ...indexes);
  return plan;
}

function lengthOf(type: string | undefined): number | undefined {
  const m = type ? /\((\d+)\)/.exec(type) : null;
  return m ? Number(m[1]) : undefined;
}

/** kind/maxLength of a recorded original type text (so sizing uses the width before any widening). */
function parseOriginal(db: MigrateDb, typeText: string, live: LiveColumn): Partial<LiveColumn> {
  const lower = typeText.toLowerCase();
  const base = lower.replace(/\(.*$/, "").trim();
  const len = lengthOf(lower);
  const textBases =
    db.dialect === "postgres"
      ? ["character varying", "character", "varchar", "char", "text", "bpchar"]
      : ["char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"];
  const binBases =
    db.dialect === "postgres" ? ["bytea"] : ["binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"];
  if (textBases.includes(base))
    return { kind: "text", typeText, maxLength: lower.startsWith("enum") ? live.maxLength : len };
  if (binBases.includes(base)) return { kind: "binary", typeText, maxLength: len };
  if (/int/.test(base) && !/interval|point/.test(base)) return { kind: "integer", typeText, maxLength: undefined };
  if (/numeric|decimal/.test(base)) return { kind: "numeric", typeText, maxLength: undefined };
  return { kind: "other", typeText, maxLength: undefined };
}

/** DDL undoing planEncryptDdl after the data is back to plaintext. */
export function planDecryptDdl(
  db: MigrateDb,
  t: LiveTable,
  prots: ColumnProtection[],
  original: OriginalTypes,
  createdIndexes: string[],
): DdlPlan {
  const plan: DdlPlan = { statements: [], createdIndexes: [], notes: [] };
  const tq = db.qualified(t);
  const q = (s: string) => db.quote(s);
  for (const name of createdIndexes) {
    plan.statements.push(
      db.dialect === "postgres"
        ? `DROP INDEX IF EXISTS ${q(t.schema)}.${q(name)}`
        : `DROP INDEX IF EXISTS ${q(name)} ON ${tq}`,
    );
  }
  for (const p of prots) {
    const live = requireColumn(t, p.column);
    const o = original[live.name];
    if (p.protect !== "mac" && o) {
      const typeChanged = o.typeText !== live.typeText;
      const defaultChanged = o.defaultExpr !== null && o.defaultExpr !== live.defaultExpr;
      if (db.dialect === "postgres") {
        if (typeChanged)
          plan.statements.push(
            `ALTER TABLE ${tq} ALTER COLUMN ${q(live.name)} TYPE ${o.typeText} USING ${q(live.name)}::${o.typeText}`,
          );
        if (defaultChanged)
          plan.statements.push(`ALTER TABLE ${tq} ALTER COLUMN ${q(live.name)} SET DEFAULT ${o.defaultExpr}`);
      } else if (typeChanged || defaultChanged) {
        const dflt = o.defaultExpr !== null ? ` DEFAULT ${o.defaultExpr}` : "";
        plan.statements.push(
          `ALTER TABLE ${tq} MODIFY COLUMN ${q(live.name)} ${o.typeText} ${o.nullable ? "NULL" : "NOT NULL"}${dflt}`,
        );
      }
    } else if (p.protect !== "mac") {
      plan.notes.push(`${t.key}.${live.name}: no original type recorded; type left as ${live.typeText}`);
    }
    for (const companion of [p.bidxColumn, p.macColumn]) {
      if (companion && col(t, companion)) plan.statements.push(`ALTER TABLE ${tq} DROP COLUMN ${q(companion)}`);
    }
  }
  return plan;
}
