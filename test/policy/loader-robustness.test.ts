// The policy and config loaders never crash on arbitrary input: every outcome is a loaded document or a typed
// error (PolicyError / ConfigError) whose problems all carry a position inside the file.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { compilePolicy } from "../../policy/compile.js";
import { ConfigError, parseConfig } from "../../policy/config.js";
import { PolicyError, parsePolicy } from "../../policy/policy-loader.js";

const SEED_POLICY = `version: 1
default_key: k
tables:
  public.patients:
    row_key: [id]
    columns:
      id_card: { protect: fpe, format: cn-id, key: patients }
      phone: { protect: encrypt, mode: deterministic }
      balance: { protect: mac, type: numeric }
access:
  - name: doctors
    match: { users: [doctor], addresses: [10.0.0.0/8] }
    plaintext: [public.patients.*]
    mask: { public.patients.phone: "keep:3,4" }
  - name: default
    deny: [select, insert, update, delete]
`;

function checkPolicyOutcome(text: string) {
  try {
    const compiled = compilePolicy(parsePolicy(text, "fuzz.yaml"));
    for (const op of ["select", "insert"] as const) {
      const d = compiled.decide({ user: "a", address: "10.1.1.1" }, "public.t", "c", op);
      expect(["deny", "plaintext", "mask", "ciphertext"]).toContain(d.kind);
    }
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    const lines = text.split("\n").length + 1;
    for (const p of (e as PolicyError).problems) {
      expect(p.line).toBeGreaterThanOrEqual(1);
      expect(p.line).toBeLessThanOrEqual(lines);
      expect(p.col).toBeGreaterThanOrEqual(1);
    }
  }
}

const mutation = fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.string({ maxLength: 6 }));

describe("loader robustness", () => {
  it("arbitrary YAML documents", () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        checkPolicyOutcome(stringify(v) ?? "");
      }),
      { numRuns: 150 },
    );
  });

  it("policy-shaped documents with random values in every slot", () => {
    const val = fc.oneof(
      fc.anything({ maxDepth: 2 }),
      fc.constantFrom("encrypt", "fpe", "mac", "cn-id", "keep:1,1", "*", "10.0.0.0/8", true, 3),
    );
    const column = fc.dictionary(
      fc.constantFrom(
        "protect",
        "mode",
        "format",
        "key",
        "blind_index",
        "type",
        "width",
        "keep_prefix",
        "max_length",
        "zzz",
      ),
      val,
    );
    const table = fc.record(
      {
        row_key: fc.oneof(fc.array(fc.string()), val),
        key: val,
        mode: val,
        columns: fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(column, val)),
      },
      { requiredKeys: [] },
    );
    const rule = fc.record(
      {
        name: fc.oneof(fc.constantFrom("a", "b"), val),
        match: fc.dictionary(fc.constantFrom("users", "apps", "addresses", "databases"), fc.oneof(fc.array(val), val)),
        allow: fc.oneof(fc.array(fc.constantFrom("select", "insert", "*", "drop")), val),
        deny: fc.array(fc.constantFrom("select", "delete")),
        tables: fc.array(fc.constantFrom("public.t", "*", "a.b.c", "x")),
        plaintext: fc.array(fc.constantFrom("public.t.c", "public.t.*", "*", "q.r.s", "bad")),
        mask: fc.dictionary(
          fc.constantFrom("public.t.c", "public.t.*", "x.y"),
          fc.oneof(fc.constantFrom("full", "keep:2,2", "hash", "nope"), val),
        ),
        deny_columns: fc.array(fc.string({ maxLength: 8 })),
      },
      { requiredKeys: [] },
    );
    const doc = fc.record(
      {
        version: fc.oneof(fc.constant(1), val),
        default_key: val,
        tables: fc.dictionary(fc.constantFrom("public.t", "public.T", "x", "a.b.c"), fc.oneof(table, val)),
        access: fc.oneof(fc.array(fc.oneof(rule, val), { maxLength: 4 }), val),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(doc, (d) => {
        checkPolicyOutcome(stringify(d) ?? "");
      }),
      { numRuns: 200 },
    );
  });

  it("random edits of a valid policy", () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (edits) => {
        let t = SEED_POLICY;
        for (const [pos, del, ins] of edits) {
          const at = pos % (t.length + 1);
          t = t.slice(0, at) + ins + t.slice(at + del);
        }
        checkPolicyOutcome(t);
      }),
      { numRuns: 200 },
    );
  });

  it("random edits of a valid smgate.yaml", () => {
    const seed =
      "pg: { listen: 127.0.0.1:6432, backend: 127.0.0.1:5432 }\nkeystore: { provider: file, path: ./k.json, passphrase_env: P }\npolicy: ./p.yaml\nlimits: { max_message_bytes: 64MiB }\n";
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (edits) => {
        let t = seed;
        for (const [pos, del, ins] of edits) {
          const at = pos % (t.length + 1);
          t = t.slice(0, at) + ins + t.slice(at + del);
        }
        try {
          parseConfig(t, "/etc/smgate/smgate.yaml");
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 200 },
    );
  });
});
