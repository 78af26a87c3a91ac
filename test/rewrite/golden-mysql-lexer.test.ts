// Unit tests of the MySQL adapter's pieces: the lexer (literals, comments, quoting), literal decoding and
// quoting, shape keys, the cheap pre-check, column-name case folding and refusal fields.
import { describe, expect, test } from "vitest";
import { InMemoryCatalog, MysqlAdapter, RewriteEngine } from "../../proxy/rewrite/index.js";
import { lexMysql } from "../../proxy/rewrite/mysql/lexer.js";
import { decodeMysqlLiteral, quoteMysqlLiteral } from "../../proxy/rewrite/mysql/literals.js";

const adapter = new MysqlAdapter();
const literals = (sql: string) => adapter.locateLiterals(sql).map((s) => sql.slice(s.start, s.end));

describe("MySQL lexer", () => {
  test("strings, escapes, adjacent strings, introducers, numbers, hex and bit literals", () => {
    expect(
      literals(`SELECT 'a\\'b', "c""d", 'e' 'f', N'g', _utf8mb4 'h', 12, 1.5e3, .5, 0x41, X'42', b'01', 0b1`),
    ).toEqual([
      `'a\\'b'`,
      `"c""d"`,
      `'e' 'f'`,
      `N'g'`,
      `_utf8mb4 'h'`,
      "12",
      "1.5e3",
      ".5",
      "0x41",
      "X'42'",
      "b'01'",
      "0b1",
    ]);
  });

  test("comments: #, '-- ' and /* */ hide text; '--x' does not; backticks are identifiers", () => {
    expect(literals("SELECT 1 # 'x'\n, 2 -- 'y'\n, 3 /* 'z' */, 4--5")).toEqual(["1", "2", "3", "4", "5"]);
    expect(literals("SELECT `a'b` FROM t")).toEqual([]);
    const lex = lexMysql("SELECT 1 /*!50000 FROM t */");
    expect(lex.executable.map((e) => e.start)).toEqual([9, 25]);
    expect(lex.tokens.map((t) => t.text)).toEqual(["SELECT", "1", "FROM", "T"]);
  });

  test("identifiers may start with digits; names after a dot are names", () => {
    const lex = lexMysql("SELECT 1e5, 1a, t.1b, db.2t FROM x");
    expect(lex.tokens.filter((t) => t.kind === "number").map((t) => t.raw ?? t.text)).toEqual(["1e5"]);
  });

  test("unterminated constructs make the scan inexact, and it always terminates", () => {
    for (const s of ["SELECT 'abc", "SELECT `x", "SELECT /* x", "SELECT /*! x", "SELECT .5x", "SELECT 1e5x", "\\N"])
      expect(lexMysql(s).exact, s).toBe(false);
    expect(lexMysql("SELECT 'a', \"b\", `c` /* d */").exact).toBe(true);
  });
});

describe("MySQL literal values", () => {
  test("decoding follows the server's escapes", () => {
    expect(decodeMysqlLiteral(`'O\\'Brien \\\\ ''x'' \\n\\t\\0\\Z\\%\\_\\q'`)).toBe(
      "O'Brien \\ 'x' \n\t\u0000\u001a\\%\\_q",
    );
    expect(decodeMysqlLiteral(`"a\\"b""c"`)).toBe('a"b"c');
    expect(decodeMysqlLiteral(`'13' "8" '0'`)).toBe("1380");
    expect(decodeMysqlLiteral("N'x'")).toBe("x");
    expect(decodeMysqlLiteral("_utf8mb4 'y'")).toBe("y");
    expect(decodeMysqlLiteral("X'313338'")).toBe("138");
    expect(decodeMysqlLiteral("0x313338")).toBe("138");
    expect(decodeMysqlLiteral("b'0100000101000010'")).toBe("AB");
    expect(decodeMysqlLiteral("-12.5")).toBe("-12.5");
  });

  test("quoting reads back the same with and without NO_BACKSLASH_ESCAPES", () => {
    expect(quoteMysqlLiteral("smg1:AbC+/=")).toBe("'smg1:AbC+/='");
    expect(quoteMysqlLiteral("it's")).toBe("'it''s'");
    expect(quoteMysqlLiteral("a\\b")).toBe("X'615C62'");
    for (const v of ["plain", "it's", "back\\slash", "nul\u0000", "中文"])
      expect(decodeMysqlLiteral(quoteMysqlLiteral(v))).toBe(v);
  });
});

describe("MySQL shape keys and the cheap pre-check", () => {
  test("statements differing only in literals and comments share a key", () => {
    const a = adapter.shapeKey("SELECT id FROM t WHERE phone = '138' # x\nAND id = 5");
    const b = adapter.shapeKey("SELECT id FROM t WHERE phone = 'it\\'s' # yy\nAND id = 77");
    expect(a.key).toBe(b.key);
    expect(a.exact && b.exact).toBe(true);
    expect(adapter.shapeKey("SELECT _binary'x'").key).not.toBe(adapter.shapeKey("SELECT 'x'").key);
    expect(adapter.shapeKey("SELECT /*!1 x */ 1").exact).toBe(false);
  });

  test("mayTouch finds names in any quoting and always analyses dynamic SQL and executable comments", () => {
    const names = new Set(["patients"]);
    expect(adapter.mayTouch("SELECT * FROM `Patients`", names)).toBe(true);
    expect(adapter.mayTouch("SELECT * FROM patients_x", names)).toBe(false);
    expect(adapter.mayTouch("SET @q = 'x'; PREPARE s FROM @q", names)).toBe(true);
    expect(adapter.mayTouch("EXECUTE IMMEDIATE @q", names)).toBe(true);
    expect(adapter.mayTouch("SELECT 1 /*!50000 , 2 */", names)).toBe(true);
    expect(adapter.mayTouch("SELECT 1", new Set())).toBe(false);
  });
});

describe("column names are case-insensitive against the catalog and the policy", () => {
  const policy: Record<string, { protect: "encrypt"; mode?: "deterministic"; key: string; blind_index?: boolean }> = {
    Phone: { protect: "encrypt", mode: "deterministic", key: "k" },
    FullName: { protect: "encrypt", blind_index: true, key: "k", bidxColumn: "FullName_BIDX" } as never,
  };
  const engine = new RewriteEngine({
    adapter,
    catalog: new InMemoryCatalog({ "shop.People": ["Id", "Phone", "FullName", "FullName_BIDX"] }),
    protectedTables: ["shop.People"],
    protection: (table, column) => (table === "shop.People" ? policy[column] : undefined),
  });

  test("PHONE / `phone` reach the policy's Phone; the blind index companion is matched too", () => {
    const sql = "INSERT INTO People (id, PHONE, fullname) VALUES (?, ?, ?)";
    const a = engine.analyse(sql, { searchPath: ["shop"] });
    expect(a.plan.refusal).toBeUndefined();
    expect(a.plan.params.map((p) => p.target?.transform ?? "plain")).toEqual(["plain", "encrypt-det", "encrypt-rnd"]);
    expect(a.plan.params[1].target?.column.ad).toBe("shop.people.phone");
    expect(a.plan.slots.map((s) => s.kind)).toEqual(["blind-index"]);
    const w = engine.analyse("SELECT id FROM People WHERE `phone` LIKE ?", { searchPath: ["shop"] });
    expect(w.plan.refusal?.message).toMatch(/LIKE is not supported/);
    expect(w.plan.refusal?.column).toBe("shop.People.phone");
  });

  test("a table spelled in another case is another table (lower_case_table_names = 0)", () => {
    const a = engine.analyse("SELECT phone FROM people WHERE phone LIKE ?", { searchPath: ["shop"] });
    expect(a.plan.refusal?.sqlstate).toBe("42P01");
  });
});
