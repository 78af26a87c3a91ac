// The `access:` section of policy.yaml: rule checks with positions (duplicate names, CIDRs, patterns, masks on
// unprotected columns, plaintext/mask naming unknown tables or columns, unreachable rules) and the built rules.
import { type ParsedCidr, parseCidr } from "./cidr.js";
import { parseMask } from "./masks.js";
import { isLiteral, type NamePattern, parsePattern, patternMatches } from "./patterns.js";
import { type AccessRule, OPS, type Op, type TablePolicy } from "./policy-types.js";
import type { SourceProblem, ValuePath, YamlSource } from "./yaml-source.js";

type Raw = Record<string, unknown>;

function isObj(v: unknown): v is Raw {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.map((x) => (typeof x === "string" ? x : "")) : undefined;
}

export function buildAccess(
  src: YamlSource,
  raw: unknown,
  tables: Map<string, TablePolicy>,
  out: SourceProblem[],
): AccessRule[] {
  const rules: AccessRule[] = [];
  if (raw === undefined) {
    out.push(src.problem([], "no access rules: every subject will be denied", { severity: "warning" }));
    return rules;
  }
  if (!Array.isArray(raw)) return rules;
  const names = new Map<string, number>();
  let catchAll: string | undefined;
  raw.forEach((r, index) => {
    if (!isObj(r)) return;
    const rPath: ValuePath = ["access", index];
    const name = typeof r.name === "string" ? r.name : `#${index + 1}`;
    if (typeof r.name === "string") {
      const prev = names.get(r.name);
      if (prev !== undefined) {
        out.push(src.problem([...rPath, "name"], `duplicate rule name "${r.name}" (first used by access[${prev}])`));
      } else names.set(r.name, index);
    }
    if (catchAll !== undefined) {
      out.push(
        src.problem(rPath, `rule "${name}" is never reached: rule "${catchAll}" before it matches every subject`, {
          severity: "warning",
        }),
      );
    }
    const rule: AccessRule = {
      name,
      index,
      match: {},
      ops: new Set(),
      tables: [],
      plaintext: [],
      masks: [],
      denyColumns: [],
    };
    const m = isObj(r.match) ? r.match : {};
    for (const k of ["users", "apps", "databases"] as const) {
      const list = strings(m[k]);
      if (list) rule.match[k] = list;
    }
    const addrs = strings(m.addresses);
    if (addrs && !addrs.includes("*")) {
      const parsed: ParsedCidr[] = [];
      addrs.forEach((a, i) => {
        const c = parseCidr(a);
        if (typeof c === "string") out.push(src.problem([...rPath, "match", "addresses", i], `invalid address: ${c}`));
        else parsed.push(c);
      });
      rule.match.addresses = parsed;
    }
    for (const k of ["users", "apps", "addresses", "databases"] as const) {
      if (Array.isArray(m[k]) && (m[k] as unknown[]).length === 0) {
        out.push(
          src.problem(
            [...rPath, "match", k],
            `empty ${k} list: rule "${name}" matches no subject (omit the key to match any)`,
            { severity: "warning" },
          ),
        );
      }
    }
    const matchesAll = Object.values(rule.match).every((l) => l === undefined || l.includes("*" as never));
    if (matchesAll && catchAll === undefined) catchAll = name;
    // operations
    const opsOf = (v: unknown): Set<Op> | undefined => {
      const l = strings(v);
      if (!l) return undefined;
      return new Set(l.includes("*") ? OPS : (l.filter((o) => (OPS as readonly string[]).includes(o)) as Op[]));
    };
    const allow = opsOf(r.allow);
    const deny = opsOf(r.deny);
    const ops = new Set<Op>(allow ?? OPS);
    if (deny) {
      for (const d of deny) {
        if (allow?.has(d)) {
          out.push(
            src.problem([...rPath, "deny"], `"${d}" is listed in both allow and deny of rule "${name}"; deny wins`, {
              severity: "warning",
            }),
          );
        }
        ops.delete(d);
      }
    }
    rule.ops = ops;
    // table patterns
    strings(r.tables)?.forEach((t, i) => {
      const p = parsePattern(t, "table");
      if (typeof p === "string") out.push(src.problem([...rPath, "tables", i], p));
      else rule.tables.push(p);
    });
    strings(r.deny_columns)?.forEach((t, i) => {
      const p = parsePattern(t, "column");
      if (typeof p === "string") out.push(src.problem([...rPath, "deny_columns", i], p));
      else rule.denyColumns.push(p);
    });
    // plaintext and masks must name protected columns
    const literalPlain = new Map<string, number>();
    strings(r.plaintext)?.forEach((t, i) => {
      const p = checkColumnPattern(src, [...rPath, "plaintext", i], t, tables, "plaintext", out, false);
      if (p) {
        rule.plaintext.push(p);
        if (isLiteral(p)) literalPlain.set(p.segments.join("."), i);
      }
    });
    if (isObj(r.mask)) {
      for (const [target, kind] of Object.entries(r.mask)) {
        const mPath = [...rPath, "mask", target];
        const p = checkColumnPattern(src, mPath, target, tables, "mask", out, true);
        let ok = p !== undefined;
        const spec = typeof kind === "string" ? parseMask(kind) : undefined;
        if (typeof kind === "string" && !spec) {
          const hint = /^keep:\d+$/.test(kind.trim())
            ? ' (inside { } quote it: "keep:3,4", or YAML splits it at the comma)'
            : "";
          out.push(
            src.problem(mPath, `unknown mask "${kind}"; masks are keep:m,n (e.g. keep:3,4), full, null, hash${hint}`),
          );
          ok = false;
        }
        if (p && isLiteral(p) && literalPlain.has(p.segments.join("."))) {
          out.push(
            src.problem(mPath, `column ${p.text} is listed in both plaintext and mask of rule "${name}"`, {
              key: true,
            }),
          );
          ok = false;
        }
        if (ok && p && spec) rule.masks.push({ pattern: p, mask: spec });
      }
    }
    rules.push(rule);
  });
  return rules;
}

/** A plaintext/mask entry: must parse, name a table in `tables`, and (when literal) a protected column. */
function checkColumnPattern(
  src: YamlSource,
  path: ValuePath,
  text: string,
  tables: Map<string, TablePolicy>,
  what: "plaintext" | "mask",
  out: SourceProblem[],
  atKey: boolean,
): NamePattern | undefined {
  const p = parsePattern(text, "column");
  if (typeof p === "string") {
    out.push(src.problem(path, p, { key: atKey }));
    return undefined;
  }
  const [schema, table, column] = p.segments;
  if (schema !== "*" && table !== "*") {
    const t = tables.get(`${schema}.${table}`);
    if (!t) {
      out.push(src.problem(path, `${what} names table ${schema}.${table}, which is not in tables`, { key: atKey }));
      return undefined;
    }
    if (column !== "*" && !t.columns.has(column)) {
      out.push(
        src.problem(
          path,
          `${what} names column ${p.text}, which is not a protected column of ${t.name} (not listed in its columns)`,
          {
            key: atKey,
          },
        ),
      );
      return undefined;
    }
  }
  const any = [...tables.values()].some((t) =>
    [...t.columns.keys()].some((c) => patternMatches(p, [...t.name.split("."), c])),
  );
  if (!any) {
    out.push(
      src.problem(path, `${what} pattern ${p.text} matches no protected column`, { key: atKey, severity: "warning" }),
    );
  }
  return p;
}
