// Access decisions: a table-driven matrix of subjects (user × app × client address × database) × tables ×
// columns × operations against one policy; expected values follow the documented rules (docs/POLICY.md):
// first matching rule wins, no match = deny, most specific plaintext/mask entry wins, mask beats plaintext
// on a tie, no entry = stored ciphertext (plaintext for mac columns, which are stored in clear).
import { describe, expect, it } from "vitest";
import { compilePolicy, type Decision, type Subject } from "../../policy/compile.js";
import { parsePolicy } from "../../policy/policy-loader.js";
import type { Op } from "../../policy/policy-types.js";

const POLICY = `
version: 1
default_key: main
tables:
  public.patients:
    row_key: [id]
    columns:
      id_card:   { protect: fpe, format: cn-id, key: patients }
      phone:     { protect: encrypt, mode: deterministic }
      diagnosis: { protect: encrypt }
      balance:   { protect: mac, type: numeric }
  test.orders:
    key: orders
    columns:
      card: { protect: fpe, format: bank-card }
access:
  - name: doctors
    match: { users: [doctor], apps: [his], addresses: [10.1.0.0/16] }
    allow: [select, insert, update]
    plaintext: [public.patients.*]
    mask: { public.patients.id_card: "keep:6,4" }
  - name: doctors-elsewhere
    match: { users: [doctor] }
    allow: [select]
    tables: [public.patients]
    mask: { public.patients.*: full }
  - name: analysts
    match: { users: [analyst, auditor] }
    allow: [select]
    mask: { public.patients.id_card: "keep:3,4", public.patients.phone: hash }
    deny_columns: [public.patients.diagnosis]
  - name: intake-app
    match: { apps: [intake], databases: [test] }
    allow: [insert, select]
    tables: [test.*]
  - name: v6-admins
    match: { addresses: ["2001:db8::/32"] }
    plaintext: ["*"]
  - name: default
    match: {}
    deny: [select, insert, update, delete]
`;

const policy = compilePolicy(parsePolicy(POLICY, "matrix.yaml"));

const S: Record<string, Subject> = {
  docInside: { user: "doctor", app: "his", address: "10.1.2.3", database: "clinic" },
  docMapped: { user: "doctor", app: "his", address: "::ffff:10.1.200.7", database: "clinic" },
  docOutside: { user: "doctor", app: "his", address: "10.2.0.1", database: "clinic" },
  docNoApp: { user: "doctor", address: "10.1.2.3" },
  analyst: { user: "analyst", app: "bi", address: "192.168.0.9" },
  auditor: { user: "auditor" },
  intake: { user: "nurse", app: "intake", address: "10.9.9.9", database: "test" },
  intakeOtherDb: { user: "nurse", app: "intake", address: "10.9.9.9", database: "prod" },
  v6admin: { user: "root", address: "2001:db8::42" },
  v6other: { user: "root", address: "2001:db9::42" },
  nobody: { user: "mallory", app: "his", address: "10.1.2.3" },
};

const P = { kind: "plaintext" } as const;
const C = { kind: "ciphertext" } as const;
const D = { kind: "deny" } as const;
const keep = (first: number, last: number): Decision => ({ kind: "mask", mask: { kind: "keep", first, last } });
const FULL: Decision = { kind: "mask", mask: { kind: "full" } };
const HASH: Decision = { kind: "mask", mask: { kind: "hash" } };

const PT = "public.patients";
// [subject, table, column, op, expected decision]
const MATRIX: [string, string, string, Op, Decision][] = [
  // doctors (user + app + CIDR all match): plaintext everywhere on patients, id_card's literal mask beats the wildcard
  ["docInside", PT, "phone", "select", P],
  ["docInside", PT, "diagnosis", "select", P],
  ["docInside", PT, "id_card", "select", keep(6, 4)],
  ["docInside", PT, "balance", "select", P],
  ["docInside", PT, "name", "select", P], // unprotected column
  ["docInside", PT, "phone", "insert", P],
  ["docInside", PT, "phone", "update", P],
  ["docInside", PT, "phone", "delete", D], // delete not allowed
  ["docInside", "test.orders", "card", "select", C], // no plaintext entry for this table
  ["docMapped", PT, "diagnosis", "select", P], // IPv4-mapped IPv6 address matches the IPv4 block
  ["docMapped", PT, "id_card", "select", keep(6, 4)],
  // doctor from another network: second rule, select only, patients only, full masks
  ["docOutside", PT, "phone", "select", FULL],
  ["docOutside", PT, "balance", "select", FULL], // masks apply to mac columns too
  ["docOutside", PT, "name", "select", P], // unprotected: not masked
  ["docOutside", PT, "phone", "insert", D],
  ["docOutside", "test.orders", "card", "select", D], // table not named in the rule
  ["docNoApp", PT, "diagnosis", "select", FULL], // rule 1 needs app his: falls to rule 2
  // analysts: masks where named, stored ciphertext otherwise, diagnosis column denied
  ["analyst", PT, "id_card", "select", keep(3, 4)],
  ["analyst", PT, "phone", "select", HASH],
  ["analyst", PT, "diagnosis", "select", D],
  ["analyst", PT, "balance", "select", P], // mac column without mask: stored value is plaintext
  ["analyst", "test.orders", "card", "select", C],
  ["analyst", "test.other", "x", "select", P],
  ["analyst", PT, "phone", "update", D],
  ["auditor", PT, "id_card", "select", keep(3, 4)],
  ["auditor", PT, "diagnosis", "delete", D],
  // intake app, database test: insert/select on test.* only
  ["intake", "test.orders", "card", "insert", P],
  ["intake", "test.orders", "card", "select", C],
  ["intake", "test.orders", "card", "update", D],
  ["intake", PT, "phone", "insert", D],
  ["intakeOtherDb", "test.orders", "card", "insert", D], // database does not match: default rule
  // IPv6 CIDR rule with plaintext "*"
  ["v6admin", PT, "id_card", "select", P],
  ["v6admin", "test.orders", "card", "delete", P],
  ["v6other", PT, "id_card", "select", D],
  // nobody matches a named rule: default deny
  ["nobody", PT, "phone", "select", D],
  ["nobody", "test.other", "x", "insert", D],
];

describe("column decisions matrix", () => {
  it.each(MATRIX)("%s %s.%s %s", (subject, table, column, op, expected) => {
    expect(policy.decide(S[subject], table, column, op)).toEqual(expected);
    // the per-session object gives the same answer
    expect(policy.resolveSubject(S[subject]).column(table, column, op)).toEqual(expected);
  });
});

const TABLES: [string, string, Op, "allow" | "deny"][] = [
  ["docInside", PT, "select", "allow"],
  ["docInside", PT, "delete", "deny"],
  ["docInside", "test.orders", "insert", "allow"],
  ["docOutside", PT, "select", "allow"],
  ["docOutside", "test.orders", "select", "deny"],
  ["analyst", "anything.else", "select", "allow"],
  ["analyst", "anything.else", "insert", "deny"],
  ["intake", "test.orders", "insert", "allow"],
  ["intake", "public.patients", "insert", "deny"],
  ["nobody", PT, "select", "deny"],
];

describe("table decisions", () => {
  it.each(TABLES)("%s %s %s", (subject, table, op, expected) => {
    expect(policy.decideTable(S[subject], table, op)).toBe(expected);
  });
});

describe("subject resolution", () => {
  it("names the first matching rule and caches per subject", () => {
    expect(policy.resolveSubject(S.docInside).rule).toBe("doctors");
    expect(policy.resolveSubject(S.docOutside).rule).toBe("doctors-elsewhere");
    expect(policy.resolveSubject(S.intakeOtherDb).rule).toBe("default");
    expect(policy.resolveSubject({ ...S.docInside })).toBe(policy.resolveSubject(S.docInside));
  });

  it("denies everything when no rule matches at all", () => {
    const p = compilePolicy(parsePolicy("version: 1\naccess:\n  - name: only\n    match: { users: [a] }\n", "x.yaml"));
    const a = p.resolveSubject({ user: "b" });
    expect(a.rule).toBeUndefined();
    expect(a.table("public.t", "select")).toBe("deny");
    expect(a.column("public.t", "c", "select")).toEqual(D);
  });

  it("matches names case-insensitively for tables and columns", () => {
    expect(policy.decide(S.analyst, "PUBLIC.Patients", "ID_CARD", "select")).toEqual(keep(3, 4));
    expect(policy.protection("Public.Patients", "Phone")?.mode).toBe("deterministic");
  });
});

describe("caches stay bounded and correct", () => {
  it("after more than 10,000 invented column names the policy's columns still decide the same", () => {
    const a = policy.resolveSubject(S.analyst);
    for (let i = 0; i < 10_050; i++) expect(a.column("public.patients", `made_up_${i}`, "select")).toEqual(P);
    expect(a.column("public.patients", "id_card", "select")).toEqual(keep(3, 4));
    expect(a.column("PUBLIC.PATIENTS", "Diagnosis", "select")).toEqual(D);
    for (let i = 0; i < 10_050; i++) expect(a.table(`s.t${i}`, "select")).toBe("allow");
    expect(a.table("public.patients", "insert")).toBe("deny");
  });
});

describe("protection lookups", () => {
  it("gives each protected column its transform, key and explicit defaults", () => {
    expect(policy.protection(PT, "id_card")).toMatchObject({
      protect: "fpe",
      format: "cn-id",
      key: "patients",
      type: "text",
    });
    expect(policy.protection(PT, "diagnosis")).toMatchObject({
      protect: "encrypt",
      mode: "randomized",
      key: "main",
      blind_index: false,
      ad: "public.patients.diagnosis",
    });
    expect(policy.protection(PT, "balance")).toMatchObject({
      protect: "mac",
      type: "numeric",
      rowKey: ["id"],
      on_integrity_failure: "error",
      macColumn: "balance_mac",
    });
    expect(policy.protection("test.orders", "card")?.key).toBe("orders");
    expect(policy.protection(PT, "name")).toBeUndefined();
    expect([...policy.protectedTables()].sort()).toEqual(["public.patients", "test.orders"]);
    expect(policy.keyNames()).toEqual(["main", "orders", "patients"]);
  });
});

describe("match lists", () => {
  const p = compilePolicy(
    parsePolicy(
      [
        "version: 1",
        "access:",
        "  - name: nobody",
        "    match: { users: [] }",
        "  - name: any-address",
        '    match: { users: [ops], addresses: ["*"] }',
        "  - name: office",
        "    match: { addresses: [192.168.10.0/24, 10.9.8.7] }",
        "    allow: [select]",
      ].join("\n"),
      "m.yaml",
    ),
  );
  it.each([
    [{ user: "x" }, undefined],
    [{ user: "ops" }, "any-address"],
    [{ user: "ops", address: "8.8.8.8" }, "any-address"],
    [{ user: "y", address: "192.168.10.200" }, "office"],
    [{ user: "y", address: "10.9.8.7" }, "office"],
    [{ user: "y", address: "10.9.8.8" }, undefined],
    [{ user: "y", address: "::ffff:192.168.10.1" }, "office"],
    [{ user: "y", address: "not-an-ip" }, undefined],
  ] as [Subject, string | undefined][])("%j → %s", (subject, rule) => {
    expect(p.resolveSubject(subject).rule).toBe(rule);
  });
  it("an empty list is a warning (the rule matches nobody)", () => {
    expect(p.doc.warnings.map((w) => `${w.line}:${w.col} ${w.message}`)).toEqual([
      '4:21 empty users list: rule "nobody" matches no subject (omit the key to match any)',
    ]);
  });
});
