// Compiled policy: answers the gateway's questions on the hot path. A subject (user, app, client address,
// database) is resolved to its first matching access rule once per session (`resolveSubject`, cached); the
// resulting SubjectAccess answers table and column decisions from precomputed maps in O(1).
import { CidrSet } from "./cidr.js";
import type { MaskSpec } from "./masks.js";
import { type NamePattern, patternMatches, splitTable } from "./patterns.js";
import {
  type AccessRule,
  type ColumnProtection,
  OPS,
  type Op,
  type PolicyDoc,
  type TablePolicy,
} from "./policy-types.js";

const OP_INDEX: Record<Op, number> = { select: 0, insert: 1, update: 2, delete: 3 };

export type Decision =
  | { kind: "deny" }
  | { kind: "plaintext" }
  | { kind: "mask"; mask: MaskSpec }
  | { kind: "ciphertext" };

export interface Subject {
  user: string;
  app?: string;
  address?: string;
  database?: string;
}

export type TableDecision = "allow" | "deny";

/** What one subject may do; the gateway keeps it on the connection. */
export interface SubjectAccess {
  /** name of the rule that matched; undefined when none did (everything denied) */
  readonly rule: string | undefined;
  table(schemaTable: string, op: Op): TableDecision;
  /**
   * select: plaintext | mask | ciphertext (stored value as is) | deny. insert/update/delete: plaintext (the
   * gateway applies the column's transform to what the client sends / uses it in predicates) | deny.
   */
  column(schemaTable: string, column: string, op: Op): Decision;
}

export interface CompiledPolicy {
  readonly doc: PolicyDoc;
  protection(schemaTable: string, column: string): ColumnProtection | undefined;
  /** the table's protection entry (row key, columns, shadow mode), if the policy names it */
  tablePolicy(schemaTable: string): TablePolicy | undefined;
  protectedTables(): Set<string>;
  /** every key name the policy uses (for `smgate keys init`) */
  keyNames(): string[];
  resolveSubject(subject: Subject): SubjectAccess;
  decide(subject: Subject, schemaTable: string, column: string, op: Op): Decision;
  decideTable(subject: Subject, schemaTable: string, op: Op): TableDecision;
}

const DENY: Decision = Object.freeze({ kind: "deny" });
const PLAINTEXT: Decision = Object.freeze({ kind: "plaintext" });
const CIPHERTEXT: Decision = Object.freeze({ kind: "ciphertext" });
/** Bound for lazily filled caches (names the policy does not list, subjects). */
const CACHE_LIMIT = 10_000;

class DenyAll implements SubjectAccess {
  readonly rule = undefined;
  table(): TableDecision {
    return "deny";
  }
  column(): Decision {
    return DENY;
  }
}
const DENY_ALL = new DenyAll();

interface CompiledRule {
  rule: AccessRule;
  users?: Set<string>;
  apps?: Set<string>;
  databases?: Set<string>;
  addresses?: CidrSet;
  access?: RuleAccess;
}

function listSet(l: string[] | undefined): Set<string> | undefined {
  if (!l || l.includes("*")) return undefined; // absent or "*" = any value
  return new Set(l);
}

function ruleMatches(r: CompiledRule, s: Subject): boolean {
  if (r.users && !r.users.has(s.user)) return false;
  if (r.apps && (s.app === undefined || !r.apps.has(s.app))) return false;
  if (r.databases && (s.database === undefined || !r.databases.has(s.database))) return false;
  if (r.addresses && !r.addresses.has(s.address)) return false;
  return true;
}

/** Chooses among a rule's plaintext/mask entries for one column: most specific wins, mask beats plaintext on a tie. */
function selectDecision(rule: AccessRule, names: string[], p: ColumnProtection): Decision {
  let best: { spec: number; d: Decision } | undefined;
  const consider = (pat: NamePattern, d: Decision) => {
    if (!patternMatches(pat, names)) return;
    if (
      !best ||
      pat.specificity > best.spec ||
      (pat.specificity === best.spec && d.kind === "mask" && best.d.kind !== "mask")
    ) {
      best = { spec: pat.specificity, d };
    }
  };
  for (const pat of rule.plaintext) consider(pat, PLAINTEXT);
  for (const m of rule.masks) consider(m.pattern, Object.freeze({ kind: "mask", mask: m.mask }) as Decision);
  if (best) return best.d;
  // a mac column is stored in plaintext (only integrity-protected): its stored value is the plaintext
  return p.protect === "mac" ? PLAINTEXT : CIPHERTEXT;
}

/** The decisions of one rule (shared by every subject the rule matches). */
class RuleAccess implements SubjectAccess {
  readonly rule: string;
  private readonly r: AccessRule;
  private readonly policy: PolicyDoc;
  /** table → per-operation decisions, filled lazily */
  private readonly tableCache = new Map<string, TableDecision[]>();
  /** table → column → per-operation decisions: protected columns precomputed, others filled lazily */
  private readonly columnCache = new Map<string, Map<string, Decision[]>>();
  private cachedColumns = 0;

  constructor(r: AccessRule, policy: PolicyDoc) {
    this.r = r;
    this.rule = r.name;
    this.policy = policy;
    for (const t of policy.tables.values()) {
      for (const [c, p] of t.columns) this.fillColumn(t.name, c, t.name, c, p);
    }
  }

  table(schemaTable: string, op: Op): TableDecision {
    let ds = this.tableCache.get(schemaTable);
    if (ds === undefined) {
      if (this.tableCache.size >= CACHE_LIMIT) this.tableCache.clear();
      ds = OPS.map((o) => this.computeTable(schemaTable, o));
      this.tableCache.set(schemaTable, ds);
    }
    return ds[OP_INDEX[op]];
  }

  column(schemaTable: string, column: string, op: Op): Decision {
    const ds = this.columnCache.get(schemaTable)?.get(column) ?? this.slowColumn(schemaTable, column);
    return ds[OP_INDEX[op]];
  }

  /** First sight of a (table, column) spelling: compute from the lower-cased names and remember it. */
  private slowColumn(schemaTable: string, column: string): Decision[] {
    const st = schemaTable.toLowerCase();
    const c = column.toLowerCase();
    const known = this.columnCache.get(st)?.get(c);
    if (this.cachedColumns >= CACHE_LIMIT) {
      // unbounded spellings (e.g. a client inventing names): start over, keeping the policy's own columns
      this.columnCache.clear();
      this.cachedColumns = 0;
      for (const t of this.policy.tables.values()) {
        for (const [col, p] of t.columns) this.fillColumn(t.name, col, t.name, col, p);
      }
    }
    if (known) {
      this.put(schemaTable, column, known);
      return known;
    }
    return this.fillColumn(schemaTable, column, st, c, this.policy.tables.get(st)?.columns.get(c));
  }

  private fillColumn(
    keyTable: string,
    keyColumn: string,
    st: string,
    c: string,
    p: ColumnProtection | undefined,
  ): Decision[] {
    const ds = OPS.map((op) => this.computeColumn(st, c, op, p));
    this.put(keyTable, keyColumn, ds);
    return ds;
  }

  private put(st: string, c: string, ds: Decision[]): void {
    let m = this.columnCache.get(st);
    if (!m) {
      m = new Map();
      this.columnCache.set(st, m);
    }
    m.set(c, ds);
    this.cachedColumns++;
  }

  private computeTable(schemaTable: string, op: Op): TableDecision {
    if (!this.r.ops.has(op)) return "deny";
    if (this.r.tables.length === 0) return "allow";
    const names = splitTable(schemaTable);
    if (!names) return "deny";
    return this.r.tables.some((p) => patternMatches(p, names)) ? "allow" : "deny";
  }

  private computeColumn(st: string, c: string, op: Op, p: ColumnProtection | undefined): Decision {
    if (this.table(st, op) === "deny") return DENY;
    const t = splitTable(st);
    if (!t) return DENY;
    const names = [t[0], t[1], c];
    if (this.r.denyColumns.some((pat) => patternMatches(pat, names))) return DENY;
    if (!p || op !== "select") return PLAINTEXT;
    return selectDecision(this.r, names, p);
  }
}

class Compiled implements CompiledPolicy {
  readonly doc: PolicyDoc;
  private readonly rules: CompiledRule[];
  private readonly subjects = new Map<string, SubjectAccess>();
  private readonly protectedSet: Set<string>;

  constructor(doc: PolicyDoc) {
    this.doc = doc;
    this.protectedSet = new Set([...doc.tables.values()].filter((t) => t.columns.size > 0).map((t) => t.name));
    this.rules = doc.access.map((rule) => {
      const cr: CompiledRule = { rule };
      const users = listSet(rule.match.users);
      if (users) cr.users = users;
      const apps = listSet(rule.match.apps);
      if (apps) cr.apps = apps;
      const dbs = listSet(rule.match.databases);
      if (dbs) cr.databases = dbs;
      if (rule.match.addresses) cr.addresses = new CidrSet(rule.match.addresses);
      return cr;
    });
  }

  protection(schemaTable: string, column: string): ColumnProtection | undefined {
    const t = this.doc.tables.get(schemaTable) ?? this.doc.tables.get(schemaTable.toLowerCase());
    if (!t) return undefined;
    return t.columns.get(column) ?? t.columns.get(column.toLowerCase());
  }

  tablePolicy(schemaTable: string): TablePolicy | undefined {
    return this.doc.tables.get(schemaTable) ?? this.doc.tables.get(schemaTable.toLowerCase());
  }

  protectedTables(): Set<string> {
    return new Set(this.protectedSet);
  }

  keyNames(): string[] {
    const s = new Set<string>();
    for (const t of this.doc.tables.values()) for (const c of t.columns.values()) s.add(c.key);
    return [...s].sort();
  }

  resolveSubject(subject: Subject): SubjectAccess {
    const k = `${subject.user}\0${subject.app ?? "\u0001"}\0${subject.address ?? "\u0001"}\0${subject.database ?? "\u0001"}`;
    let a = this.subjects.get(k);
    if (a === undefined) {
      a = DENY_ALL;
      for (const r of this.rules) {
        if (ruleMatches(r, subject)) {
          r.access ??= new RuleAccess(r.rule, this.doc);
          a = r.access;
          break;
        }
      }
      if (this.subjects.size >= CACHE_LIMIT) this.subjects.clear();
      this.subjects.set(k, a);
    }
    return a;
  }

  decide(subject: Subject, schemaTable: string, column: string, op: Op): Decision {
    return this.resolveSubject(subject).column(schemaTable, column, op);
  }

  decideTable(subject: Subject, schemaTable: string, op: Op): TableDecision {
    return this.resolveSubject(subject).table(schemaTable, op);
  }
}

export function compilePolicy(doc: PolicyDoc): CompiledPolicy {
  return new Compiled(doc);
}
