// policy.yaml loader: malformed files, each with the exact `line:col` of every problem (positions counted by
// hand from the file text), all problems of a file reported at once; warnings do not fail a load.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadPolicy, PolicyError, parsePolicy } from "../../policy/policy-loader.js";

const dir = mkdtempSync(join(tmpdir(), "smg-policy-malformed-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T = (lines: string[]) => `${lines.join("\n")}\n`;

// [name, file text, expected problems as "line:col" + a fragment of the message]. Columns are 1-based: in
// `      a: { protect: mac, mode: x }` the `{` is column 10 and `mode` column 26.
const CASES: [string, string, [string, string][]][] = [
  ["unknown top-level key", T(["version: 1", "tabels: {}"]), [["2:1", 'unknown key "tabels"']]],
  [
    "wrong type",
    T([
      "version: 1",
      "tables:",
      "  public.t:",
      "    columns:",
      "      c:",
      "        protect: encrypt",
      '        blind_index: "yes"',
    ]),
    [["7:22", "expected boolean, got string"]],
  ],
  [
    "unknown fpe format",
    T([
      "version: 1",
      "tables:",
      "  public.t:",
      "    columns:",
      "      c:",
      "        protect: fpe",
      "        format: cn-passport",
    ]),
    [["7:17", 'unknown format "cn-passport"']],
  ],
  [
    "blind_index on an FPE column",
    T([
      "version: 1",
      "tables:",
      "  public.t:",
      "    columns:",
      "      c:",
      "        protect: fpe",
      "        format: cn-mobile",
      "        blind_index: true",
    ]),
    [["8:9", "blind_index cannot be used with protect: fpe"]],
  ],
  [
    "mask on a column that is not protected",
    T([
      "version: 1",
      "tables:",
      "  public.t:",
      "    columns:",
      "      c: { protect: encrypt }",
      "access:",
      "  - name: r",
      "    mask:",
      '      public.t.other: "keep:1,1"',
    ]),
    [["9:7", "mask names column public.t.other, which is not a protected column"]],
  ],
  [
    "unknown mask kind",
    T([
      "version: 1",
      "tables:",
      "  public.t:",
      "    columns:",
      "      c: { protect: encrypt }",
      "access:",
      "  - name: r",
      "    mask:",
      "      public.t.c: stars",
    ]),
    [["9:19", 'unknown mask "stars"']],
  ],
  [
    "plaintext naming a table not in tables",
    T([
      "version: 1",
      "tables:",
      "  public.t:",
      "    columns:",
      "      c: { protect: encrypt }",
      "access:",
      "  - name: r",
      "    plaintext:",
      "      - public.t.c",
      "      - public.u.*",
    ]),
    [["10:9", "plaintext names table public.u, which is not in tables"]],
  ],
  [
    "duplicate rule names",
    T(["version: 1", "access:", "  - name: staff", "    allow: [select]", "  - name: staff", "    deny: [delete]"]),
    [["5:11", 'duplicate rule name "staff"']],
  ],
  [
    "missing required protect",
    T(["version: 1", "tables:", "  public.t:", "    columns:", "      c:", "        key: k1"]),
    [["6:9", 'missing required key "protect" in tables.public.t.columns.c']],
  ],
  [
    "duplicate table",
    T([
      "version: 1",
      "tables:",
      "  public.t:",
      "    columns: { a: { protect: encrypt } }",
      "  public.t:",
      "    columns: { b: { protect: encrypt } }",
    ]),
    [["5:3", 'duplicate key "public.t"']],
  ],
  [
    "duplicate table differing only in case",
    T([
      "version: 1",
      "tables:",
      "  public.t:",
      "    columns: { a: { protect: encrypt } }",
      "  PUBLIC.T:",
      "    columns: { b: { protect: encrypt } }",
    ]),
    [["5:3", 'duplicate table "PUBLIC.T"']],
  ],
  [
    "mac without row_key",
    T([
      "version: 1",
      "tables:",
      "  public.accounts:",
      "    columns:",
      "      balance: { protect: mac, type: numeric }",
    ]),
    [["5:7", "protect: mac needs row_key on table public.accounts"]],
  ],
  [
    "invalid CIDR",
    T([
      "version: 1",
      "access:",
      "  - name: office",
      "    match:",
      "      addresses:",
      "        - 10.0.0.0/8",
      "        - 192.168.1.0/40",
    ]),
    [["7:11", "prefix length must be 0-32"]],
  ],
  ["unsupported version", T(["version: 2"]), [["1:10", "version: must be 1"]]],
  [
    "YAML syntax error",
    T(["version: 1", "tables:", "  public.t:", "    columns: { c: { protect: encrypt }"]),
    [["5:1", "YAML syntax"]],
  ],
  [
    "integer FPE without width",
    T(["version: 1", "tables:", "  public.t:", "    columns:", "      n: { protect: fpe, format: integer }"]),
    [["5:10", "format integer needs width"]],
  ],
  [
    "unknown operation",
    T(["version: 1", "access:", "  - name: r", "    allow: [select, truncate]"]),
    [["4:21", 'must be one of "select", "insert", "update", "delete", "*"']],
  ],
  [
    "options of another protection",
    T([
      "version: 1",
      "tables:",
      "  public.t:",
      "    row_key: [id]",
      "    columns:",
      "      a: { protect: mac, mode: deterministic }",
      "      b: { protect: encrypt, format: digits }",
    ]),
    [
      ["6:26", "mode applies only to protect: encrypt"],
      ["7:30", "format applies only to protect: fpe"],
    ],
  ],
  [
    "unknown value type",
    T([
      "version: 1",
      "tables:",
      "  public.t:",
      "    columns:",
      "      c:",
      "        protect: encrypt",
      "        type: varchar2",
    ]),
    [["7:15", 'unknown type "varchar2"']],
  ],
  [
    "table name without schema",
    T(["version: 1", "tables:", "  patients:", "    columns: { c: { protect: encrypt } }"]),
    [["3:3", 'table "patients": expected schema.table']],
  ],
  [
    "column in both plaintext and mask of one rule",
    T([
      "version: 1",
      "tables:",
      "  public.t:",
      "    columns: { c: { protect: encrypt } }",
      "access:",
      "  - name: r",
      "    plaintext: [public.t.c]",
      "    mask: { public.t.c: full }",
    ]),
    [["8:13", "listed in both plaintext and mask"]],
  ],
  [
    "every problem of a file at once",
    T([
      "version: 1",
      "tables:",
      "  public.t:",
      "    columns:",
      "      a: { protect: fpe, format: cn-idd }",
      "      b: { protect: encrypt, colour: red }",
      "access:",
      "  - name: r",
      "    match: { users: [u], addresses: [nonsense] }",
      "  - name: r",
    ]),
    [
      ["5:34", 'unknown format "cn-idd"'],
      ["6:30", 'unknown key "colour" in tables.public.t.columns.b'],
      ["9:38", '"nonsense" is not an IPv4 or IPv6 address'],
      ["10:11", 'duplicate rule name "r"'],
    ],
  ],
];

describe("policy loader rejects malformed files with exact positions", () => {
  it("has at least 15 malformed files", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(15);
  });

  it.each(CASES)("%s", (name, text, expected) => {
    const file = join(dir, `${name.replace(/\W+/g, "-")}.yaml`);
    writeFileSync(file, text);
    let err: unknown;
    try {
      loadPolicy(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    const errors = (err as PolicyError).errors;
    expect(errors.map((p) => `${p.line}:${p.col}`)).toEqual(expected.map(([pos]) => pos));
    errors.forEach((p, i) => {
      expect(p.file).toBe(file);
      expect(p.message).toContain(expected[i][1]);
    });
    // the thrown message lists every problem as file:line:col: message
    for (const [pos] of expected) expect((err as Error).message).toContain(`${file}:${pos}: `);
  });
});

describe("warnings do not fail a load", () => {
  it("blind_index on a deterministic column loads with a positioned warning", () => {
    const doc = parsePolicy(
      T([
        "version: 1",
        "tables:",
        "  public.t:",
        "    columns:",
        "      c: { protect: encrypt, mode: deterministic, blind_index: true }",
        "access:",
        "  - name: all",
        "    plaintext: [public.t.c]",
      ]),
      "w.yaml",
    );
    expect(doc.warnings.map((w) => `${w.line}:${w.col} ${w.severity}`)).toEqual(["5:51 warning"]);
    expect(doc.warnings[0].message).toContain("pointless");
  });

  it("a rule after a catch-all rule is reported as never reached", () => {
    const doc = parsePolicy(
      T(["version: 1", "access:", "  - name: everyone", "    match: {}", "  - name: late"]),
      "w.yaml",
    );
    expect(doc.warnings.map((w) => `${w.line}:${w.col}`)).toEqual(["5:5"]);
    expect(doc.warnings[0].message).toContain('rule "late" is never reached');
  });
});

describe("hints", () => {
  it("an unquoted keep:m,n inside a flow mapping is split by YAML: the message says to quote it", () => {
    let err: unknown;
    try {
      parsePolicy(
        T([
          "version: 1",
          "tables:",
          "  public.t:",
          "    columns: { c: { protect: encrypt } }",
          "access:",
          "  - name: r",
          "    mask: { public.t.c: keep:3,4 }",
        ]),
        "h.yaml",
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    const msgs = (err as PolicyError).errors.map((p) => `${p.line}:${p.col}: ${p.message}`);
    expect(msgs[0]).toBe(
      '7:25: unknown mask "keep:3"; masks are keep:m,n (e.g. keep:3,4), full, null, hash (inside { } quote it: "keep:3,4", or YAML splits it at the comma)',
    );
  });
});

describe("type messages use YAML words", () => {
  it("a list where a mapping is expected, and a mapping where a list is expected", () => {
    let err: unknown;
    try {
      parsePolicy(T(["version: 1", "tables:", "  public.t:", "    columns: [a, b]", "access: { name: x }"]), "w.yaml");
    } catch (e) {
      err = e;
    }
    expect((err as PolicyError).errors.map((p) => `${p.line}:${p.col}: ${p.message}`)).toEqual([
      "4:14: tables.public.t.columns: expected a mapping, got a list",
      "5:9: access: expected a list, got a mapping",
    ]);
  });
});
