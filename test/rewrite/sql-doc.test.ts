// docs/SQL.md is generated from the golden cases and must be up to date (UPDATE_SQL_DOC=1 rewrites it).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, test } from "vitest";
import { PostgresAdapter } from "../../proxy/rewrite/index.js";
import { renderSqlDoc } from "./sql-doc.js";

const DOC = join(import.meta.dirname, "..", "..", "docs", "SQL.md");
const adapter = new PostgresAdapter();
beforeAll(() => adapter.init());

test("docs/SQL.md matches the golden cases", () => {
  const text = renderSqlDoc([adapter]);
  if (process.env.UPDATE_SQL_DOC === "1") writeFileSync(DOC, text);
  expect(existsSync(DOC), "run UPDATE_SQL_DOC=1 npx vitest run test/rewrite/sql-doc.test.ts").toBe(true);
  expect(readFileSync(DOC, "utf8")).toBe(text);
});
