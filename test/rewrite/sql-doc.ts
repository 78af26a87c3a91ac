// Renders docs/SQL.md from the golden rewrite cases, so the published list of supported and refused
// constructs is exactly what the tests prove: the PostgreSQL cases (test/rewrite/golden/) run through the
// adapters passed in, the MySQL/MariaDB cases (test/rewrite/golden-mysql/) through the MySQL adapter.

import { type DialectAdapter, MysqlAdapter } from "../../proxy/rewrite/index.js";
import { GOLDEN_MYSQL_DIR, type GoldenCase, loadGoldenCases, runCase } from "./golden-harness.js";

const ORDER = [
  "INSERT",
  "UPDATE",
  "DELETE",
  "SELECT",
  "WHERE",
  "JOIN",
  "GROUP BY / DISTINCT",
  "MAC",
  "COPY",
  "Refused",
  "Other statements",
  "search_path",
  "USE / current database",
  "Hostile",
  "Pass-through",
];

const code = (s: string) => "`" + s.replace(/\n/g, "⏎").replace(/`/g, "\\`").replace(/\|/g, "\\|") + "`";

/** One table per section of a folder of golden cases (headings prefixed for the non-PostgreSQL part). */
function renderCases(cases: GoldenCase[], adapters: DialectAdapter[], headingPrefix: string, lines: string[]): void {
  const sections = new Map<string, GoldenCase[]>();
  for (const c of cases) sections.set(c.section, [...(sections.get(c.section) ?? []), c]);
  const names = [...sections.keys()].sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));
  for (const name of names) {
    lines.push(`## ${headingPrefix}${name}`, "", "| Case | Dialects | Input | Result |", "|---|---|---|---|");
    for (const c of sections.get(name)!) {
      const ds = adapters.filter((a) => !c.dialects || c.dialects.includes(a.name));
      const got = ds.length ? runCase(c, ds[0]) : c.expect;
      let result: string;
      if (got.refusal) result = `refused (${got.sqlstate}): ${got.refusal}`;
      else if (got.passthrough) result = "passes through unchanged";
      else {
        const parts = [got.rewritten === c.sql ? "unchanged text" : code(got.rewritten ?? "")];
        if (got.params)
          parts.push(
            `params: ${Object.entries(got.params)
              .map(([k, v]) => `${k} → ${v}`)
              .join(", ")}`,
          );
        if (got.results?.some((r) => r.includes("<-") || r.includes("hidden")))
          parts.push(
            `decrypts: ${got.results
              .filter((r) => r.includes("<-"))
              .map((r) => r.split(" <- ")[0])
              .join(", ")}`,
          );
        if (got.mac_checks) parts.push(`verifies MAC of ${got.mac_checks.map((m) => m.split(":")[0]).join(", ")}`);
        result = parts.join("<br>");
      }
      lines.push(
        `| ${c.title.replace(/\|/g, "\\|")} | ${ds.map((a) => a.name).join(", ")} | ${code(c.sql)} | ${result.replace(/\|/g, "\\|")} |`,
      );
    }
    lines.push("");
  }
}

export function renderSqlDoc(adapters: DialectAdapter[]): string {
  const lines = [
    "# SQL handling on protected columns",
    "",
    "<!-- Generated from test/rewrite/golden/*.yaml by test/rewrite/sql-doc.ts; do not edit by hand.",
    "     Regenerate: UPDATE_SQL_DOC=1 npx vitest run test/rewrite/sql-doc.test.ts -->",
    "",
    "Every row below is a golden test case run against the rewrite engine for the dialects listed. The shared",
    "policy of the cases (`test/rewrite/golden/_schema.yaml`) protects `public.patients` with `id_card` (FPE, cn-id),",
    "`phone` (deterministic), `diagnosis` (randomized), `name` (randomized + blind index, companion `name_bidx`) and",
    "`balance` (integrity MAC, companion `balance_mac`, row key `id`); `public.contacts` uses the same key `patients`,",
    "`billing.invoices.phone` the key `billing`.",
    "",
    "In the rewritten SQL, `ENC_DET('…')`, `ENC_RND('…')`, `ENC_FPE('…')`, `ENC_BIDX('…')` stand for the literal the",
    "gateway splices in (the encrypted value as a string literal); `BIDX(…)` and `MAC(…; id=…)` for computed",
    "companion values (a literal, or a new `$n` in the extended protocol). Parameters get the transform listed.",
    "Refusals are sent to the client as an error with the SQLSTATE shown (0A000 = feature not supported).",
    "",
    "Summary of rules per column mode:",
    "",
    "| Mode | `=` `<>` `IN` | `IS NULL` | JOIN / GROUP BY / DISTINCT | LIKE, ranges, ORDER BY, functions, casts |",
    "|---|---|---|---|---|",
    "| deterministic (`mode: deterministic`) | yes | yes | same column only | refused |",
    "| FPE (`protect: fpe`) | yes | yes | same column only | refused |",
    "| randomized + `blind_index` | yes (rewritten to `<col>_bidx`) | yes | JOIN via blind index; GROUP BY/DISTINCT refused | refused |",
    "| randomized | refused | yes | refused | refused |",
    "| MAC (`protect: mac`, plaintext) | yes | yes | yes | yes (value stays plaintext); writes need the row key |",
    "",
  ];
  renderCases(loadGoldenCases(), adapters, "", lines);
  lines.push(
    "# MySQL / MariaDB",
    "",
    "The MySQL gateway uses the same engine with the MySQL adapter (`proxy/rewrite/mysql/`); the cases below",
    "(`test/rewrite/golden-mysql/*.yaml`, policy and catalog in its `_schema.yaml`) show the MySQL forms. Database",
    "names play the role of schemas: `clinic.patients` is protected like `public.patients` above, `clinic` being the",
    "session's current database (`USE` / COM_INIT_DB), and `billing.invoices` uses the key `billing`. `?n` is the",
    "n-th `?` placeholder of the statement text (a prepared statement's parameter n). The rules per column mode are",
    "those of the summary table above. Refusals reach the client as an ERR packet (the gateway maps them to",
    "1235 not supported, naming the column); access denials are 1142/1143.",
    "",
    "The adapter assumes the session keeps these settings (the MySQL gateway must not let them change):",
    '`sql_mode` without `ANSI_QUOTES` (`"…"` is a string) and without `NO_BACKSLASH_ESCAPES` (backslash escapes',
    "in strings; spliced ciphertext literals are written so they read the same either way), and",
    "`lower_case_table_names = 0` (table names case-sensitive; column names are always case-insensitive and are",
    "matched so). `SET sql_mode` to a value with `ANSI_QUOTES`, `NO_BACKSLASH_ESCAPES` (or a mode including them)",
    "or to an expression is refused while tables are protected. Statements are parsed by node-sql-parser's MariaDB",
    "grammar; what it cannot parse is refused when the text names a protected table.",
    "",
  );
  renderCases(loadGoldenCases(GOLDEN_MYSQL_DIR), [new MysqlAdapter()], "MySQL: ", lines);
  lines.push(
    "## Known limits (not covered by the cases above)",
    "",
    "- Rules, triggers and functions created directly on the server (not through smgate) can move values into or",
    "  out of protected tables unseen; smgate refuses creating them through the gateway on protected tables. Views",
    "  and partitions / inheritance children are handled when the catalog reports them (`viewOf`, `inherits`): views",
    "  over protected tables are refused, partitions are protected like their parent.",
    "- Deterministic and FPE ciphertexts are bound to their column (the associated data is `schema.table.column`),",
    "  so equality across two different columns never matches even under one key: such comparisons are refused.",
    "  Blind indexes carry no column binding, so blind-index joins across columns of one key work.",
    "- A protected column omitted from an INSERT gets the server's default stored as is; give protected columns no",
    "  non-NULL defaults.",
    "- The gateway must keep `standard_conforming_strings = on` (the analyser lexes strings that way).",
    "- MAC columns in RETURNING and COPY TO output are not verified (COPY TO of a MAC column is refused).",
    "- Values cast to a non-text type (`$1::date`, `DATE '…'`) for an encrypted column are refused; send them uncast.",
    "- MySQL: hex / bit literals (`X'…'`, `0x…`, `B'…'`) and charset introducers (`_utf8mb4'…'`) for encrypted",
    "  columns are refused (binary or other-charset strings); user variables (`@v`) cannot carry values into them.",
    "- MySQL: constructs node-sql-parser 5.4 does not parse are refused on protected tables: `<=>`, NATURAL JOIN,",
    "  `DELETE … USING`, `INSERT t … VALUE (…)` without INTO, `WINDOW` clauses, `SELECT … INTO` variables lists with",
    "  several targets, and others; multi-table UPDATE must qualify every SET column with the one table it updates,",
    "  and DELETE may remove rows of one table per statement.",
    "- MySQL: executable comments (`/*! … */`, `/*M! … */`) in a text naming a protected table are refused; stored",
    "  procedures and functions created on the server, and `CALL`, are not analysed (like PostgreSQL functions).",
    "- MySQL: `PREPARE … FROM '…'` / `EXECUTE IMMEDIATE '…'` text is analysed and refused when it touches a protected",
    "  table (use protocol-level prepared statements); from a variable or expression it is refused outright.",
    "",
  );
  return lines.join("\n");
}
