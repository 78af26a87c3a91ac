// Literal decoding (values the server reads, per the PostgreSQL manual §4.1.2) and engine.rewrite().
import { beforeAll, describe, expect, test } from "vitest";
import { InMemoryCatalog, PostgresAdapter, RewriteEngine } from "../../proxy/rewrite/index.js";
import { decodePgLiteral, quotePgIdent, quotePgLiteral } from "../../proxy/rewrite/pg/literals.js";

describe("PostgreSQL literal decoding", () => {
  test.each([
    ["'O''Brien'", "O'Brien"],
    ["'a\\b'", "a\\b"], // standard_conforming_strings = on: backslash is ordinary
    ["E'a\\nb'", "a\nb"],
    ["E'\\x41\\101\\u0041'", "AAA"],
    ["E'it\\'s'", "it's"],
    ["$$a'b$$", "a'b"],
    ["$tag$x$$y$tag$", "x$$y"],
    ["'foo'\n'bar'", "foobar"], // §4.1.2.1: continuation across a newline
    ["1_000", "1000"],
    ["1.5e3", "1.5e3"],
    ["'中文'", "中文"],
  ])("%s", (token, value) => expect(decodePgLiteral(token)).toBe(value));

  test("quoting", () => {
    expect(quotePgLiteral("a'b")).toBe("'a''b'");
    expect(quotePgIdent("name_bidx")).toBe("name_bidx");
    expect(quotePgIdent("Name")).toBe('"Name"');
  });
});

describe("engine literal values and rewrite", () => {
  const adapter = new PostgresAdapter();
  beforeAll(() => adapter.init());
  test("values are decoded and encrypted texts are quoted and spliced", () => {
    const engine = new RewriteEngine({
      adapter,
      catalog: new InMemoryCatalog({ "public.t": ["id", "s"] }),
      protectedTables: ["public.t"],
      protection: (t, c) => (t === "public.t" && c === "s" ? { protect: "encrypt", key: "k" } : undefined),
    });
    const sql = "INSERT INTO t (id, s) VALUES (1, 'it''s'), (2, -7)";
    const a = engine.analyse(sql);
    expect(engine.literalValues(sql, a)).toEqual(["it's", "-7"]);
    expect(engine.rewrite(sql, a, ["smg1:x'y", "smg1:z"])).toBe(
      "INSERT INTO t (id, s) VALUES (1, 'smg1:x''y'), (2, 'smg1:z')",
    );
  });
});
