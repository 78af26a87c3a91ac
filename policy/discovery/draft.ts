// Draft policy from a discovery report: one protected column per finding above the threshold with the
// detector's suggested transform, and a default rule denying everyone; the text passes the policy loader.
import { Document, isMap, type YAMLMap } from "yaml";
import type { ColumnFinding, DiscoveryReport } from "./scan.js";

function columnEntry(f: ColumnFinding): Record<string, unknown> {
  const e: Record<string, unknown> = { ...f.suggest };
  if (f.kind === "integer") e.type = "bigint";
  else if (f.kind === "numeric") e.type = "numeric";
  return e;
}

export function draftPolicy(report: DiscoveryReport, now = new Date()): string {
  const chosen = report.findings.filter((f) => f.aboveThreshold);
  const tables: Record<string, { columns: Record<string, unknown> }> = {};
  for (const f of chosen) {
    const key = f.table.toLowerCase();
    tables[key] ??= { columns: {} };
    tables[key].columns[f.column.toLowerCase()] = columnEntry(f);
  }
  const doc = new Document({
    version: 1,
    tables,
    access: [{ name: "default", match: {}, deny: ["select", "insert", "update", "delete"] }],
  });
  doc.commentBefore = [
    ` Draft policy written by \`smgate discover\` on ${now.toISOString()}`,
    ` ${report.dialect} database "${report.database}": ${report.tablesScanned} tables, ${report.columnsScanned} columns scanned,`,
    ` up to ${report.sample} rows sampled per table, columns with a hit rate >= ${report.threshold} listed.`,
    " Review every entry, add access rules above the default one (first match wins), e.g.:",
    "   - name: app",
    "     match: { users: [app_user], apps: [my-app] }",
    "     plaintext: [schema.table.*]",
    " then run `smgate policy validate policy.yaml --db URL` to check column widths.",
  ].join("\n");
  for (const f of chosen) {
    const node = doc.getIn(["tables", f.table.toLowerCase(), "columns", f.column.toLowerCase()], true);
    if (isMap(node)) {
      (node as YAMLMap).flow = true;
      node.comment = ` ${f.detector}: ${(f.hitRate * 100).toFixed(0)}% of ${f.sampled} sampled values (${f.typeText})`;
    }
  }
  const acc = doc.getIn(["access", 0, "match"], true);
  if (isMap(acc)) acc.flow = true;
  const deny = doc.getIn(["access", 0, "deny"], true) as { flow?: boolean } | undefined;
  if (deny) deny.flow = true;
  if (chosen.length === 0) {
    const t = doc.get("tables", true) as { comment?: string } | undefined;
    if (t) t.comment = " no sensitive column found above the threshold";
  }
  return doc.toString({ lineWidth: 0 });
}
